//! The context directory as fsutil's sender walks it for BuildKit: entries
//! depth-first, each directory's names in byte order, modes in Go's
//! `os.FileMode` bits, symlinks never followed, a hard link after its first
//! path carrying that path as its link name. BuildKit's own filters choose
//! what is sent: `exclude-patterns` (the `.dockerignore` the frontend read,
//! with Docker's rules), `include-patterns`, and `followpaths` (the paths
//! COPY reads); a parent directory is sent only before something inside
//! it. Owners are sent as root, as the docker CLI does for a build context;
//! sockets, named pipes and devices are left out, as in the other back
//! ends' contexts.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bollard_buildkit_proto::fsutil::types::Stat;

use crate::engine::dockerignore::{DockerIgnore, clean_path};

// Go's os.FileMode type bits.
pub const GO_DIR: u32 = 1 << 31;
pub const GO_SYMLINK: u32 = 1 << 27;
pub const GO_DEVICE: u32 = 1 << 26;
pub const GO_NAMED_PIPE: u32 = 1 << 25;
pub const GO_SOCKET: u32 = 1 << 24;
const GO_SETUID: u32 = 1 << 23;
const GO_SETGID: u32 = 1 << 22;
pub const GO_CHAR_DEVICE: u32 = 1 << 21;
const GO_STICKY: u32 = 1 << 20;

/// What BuildKit asked to see of a directory.
#[derive(Debug, Clone, Default)]
pub struct WalkFilter {
    excludes: Option<DockerIgnore>,
    includes: Option<DockerIgnore>,
    /// Literal prefixes of the include patterns (up to their first wildcard).
    include_prefixes: Vec<String>,
    follow: Vec<String>,
    /// `follow` read as fsutil reads it: patterns, wildcards included
    /// (`COPY *.go ./` asks for `*.go`).
    follow_matcher: Option<DockerIgnore>,
    follow_prefixes: Vec<String>,
}

/// The part of each pattern before its first wildcard.
fn literal_prefixes(patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .map(|p| {
            let cleaned = clean_path(p.trim_start_matches('/'));
            cleaned
                .split_once(['*', '?', '[', '\\'])
                .map_or(cleaned.as_str(), |(head, _)| head)
                .to_owned()
        })
        .collect()
}

fn matcher(patterns: &[String]) -> Result<Option<DockerIgnore>, BadPattern> {
    if patterns.is_empty() {
        return Ok(None);
    }
    DockerIgnore::parse(&patterns.join("\n"))
        .map(Some)
        .map_err(|e| BadPattern(e.to_string()))
}

/// A pattern BuildKit sent that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("BuildKit asked for files with a pattern that cannot be read: {0}")]
pub struct BadPattern(String);

impl WalkFilter {
    pub fn new(
        excludes: &[String],
        includes: &[String],
        follow: &[String],
    ) -> Result<Self, BadPattern> {
        let follow: Vec<String> = follow
            .iter()
            .map(|p| clean_path(p.trim_start_matches('/')))
            .collect();
        Ok(Self {
            excludes: matcher(excludes)?,
            includes: matcher(includes)?,
            include_prefixes: literal_prefixes(includes),
            follow_matcher: matcher(&follow)?,
            follow_prefixes: literal_prefixes(&follow),
            follow,
        })
    }

    fn follows(&self, path: &str) -> bool {
        self.follow_matcher
            .as_ref()
            .is_none_or(|m| m.is_excluded(path))
    }

    /// Whether the whole directory can be skipped.
    fn prunes_dir(&self, path: &str) -> bool {
        if let Some(excludes) = &self.excludes
            && excludes.is_excluded(path)
            && !excludes.may_reinclude_under(path)
        {
            return true;
        }
        if !self.follow.is_empty()
            && !self.follow_prefixes.iter().any(|f| related(f, path))
            && !self.follows(path)
        {
            return true;
        }
        if self.includes.as_ref().is_some_and(|i| !i.is_excluded(path))
            && !self.include_prefixes.iter().any(|p| related(p, path))
        {
            return true;
        }
        false
    }

    /// Whether the entry itself is sent (not only as a parent).
    fn sends(&self, path: &str) -> bool {
        if self.excludes.as_ref().is_some_and(|e| e.is_excluded(path)) {
            return false;
        }
        if !self.follows(path) {
            return false;
        }
        self.includes.as_ref().is_none_or(|i| i.is_excluded(path))
    }
}

/// `path` is `base` or inside it.
fn under_or_same(path: &str, base: &str) -> bool {
    base.is_empty() || base == "." || path == base || path.starts_with(&format!("{base}/"))
}

/// One is inside (or is) the other.
fn related(a: &str, b: &str) -> bool {
    under_or_same(a, b) || under_or_same(b, a) || a.is_empty()
}

/// Where a regular file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Disk(PathBuf),
    Memory(bytes::Bytes),
}

/// One entry to send; `source` only for regular files BuildKit may request.
#[derive(Debug, Clone)]
pub struct Entry {
    pub stat: Stat,
    pub source: Option<Source>,
}

/// Walks `root` as fsutil would send it under `filter`.
pub fn walk(root: &Path, filter: &WalkFilter) -> std::io::Result<Vec<Entry>> {
    let mut filter = filter.clone();
    // A followed path that is a symlink brings its target along, as in fsutil.
    let mut extra = Vec::new();
    for follow in &filter.follow {
        let full = root.join(follow);
        if let Ok(target) = std::fs::read_link(&full) {
            let base = Path::new(follow).parent().unwrap_or(Path::new(""));
            let joined = if target.is_absolute() {
                target.strip_prefix("/").unwrap_or(&target).to_path_buf()
            } else {
                base.join(target)
            };
            extra.push(clean_path(&joined.to_string_lossy()));
        }
    }
    filter.follow.extend(extra);
    filter.follow_matcher = matcher(&filter.follow).map_err(std::io::Error::other)?;
    filter.follow_prefixes = literal_prefixes(&filter.follow);
    let mut walker = Walker {
        filter: &filter,
        out: Vec::new(),
        pending: Vec::new(),
        inodes: HashMap::new(),
    };
    walker.dir(root, "")?;
    Ok(walker.out)
}

struct Walker<'a> {
    filter: &'a WalkFilter,
    out: Vec<Entry>,
    /// Parent directories not sent yet: sent before their first entry.
    pending: Vec<Stat>,
    inodes: HashMap<(u64, u64), String>,
}

impl Walker<'_> {
    fn dir(&mut self, dir: &Path, rel: &str) -> std::io::Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let full = dir.join(&name);
            let path = if rel.is_empty() {
                name.to_string_lossy().into_owned()
            } else {
                format!("{rel}/{}", name.to_string_lossy())
            };
            let meta = std::fs::symlink_metadata(&full)?;
            // Sockets, pipes and devices are left out, as with the other
            // back ends' contexts.
            let kind = meta.mode() & libc::S_IFMT;
            if matches!(
                kind,
                libc::S_IFSOCK | libc::S_IFIFO | libc::S_IFBLK | libc::S_IFCHR
            ) {
                continue;
            }
            let is_dir = meta.is_dir();
            if is_dir && self.filter.prunes_dir(&path) {
                continue;
            }
            let mut stat = stat_of(&path, &full, &meta)?;
            let sends = self.filter.sends(&path);
            if is_dir {
                let depth = self.pending.len();
                if sends {
                    self.emit(stat, None);
                } else {
                    self.pending.push(stat);
                }
                self.dir(&full, &path)?;
                self.pending.truncate(depth);
                continue;
            }
            if !sends {
                continue;
            }
            let mut source = None;
            if meta.is_file() {
                let key = (meta.dev(), meta.ino());
                match self.inodes.get(&key) {
                    Some(first) if meta.nlink() > 1 => stat.linkname = first.clone(),
                    _ => {
                        if meta.nlink() > 1 {
                            self.inodes.insert(key, path.clone());
                        }
                        source = Some(Source::Disk(full));
                    }
                }
            }
            self.emit(stat, source);
        }
        Ok(())
    }

    fn emit(&mut self, stat: Stat, source: Option<Source>) {
        for parent in self.pending.drain(..) {
            self.out.push(Entry {
                stat: parent,
                source: None,
            });
        }
        self.out.push(Entry { stat, source });
    }
}

fn stat_of(path: &str, full: &Path, meta: &std::fs::Metadata) -> std::io::Result<Stat> {
    let mut stat = Stat {
        path: path.to_owned(),
        mode: go_mode(meta.mode()),
        uid: 0,
        gid: 0,
        size: 0,
        mod_time: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        ..Stat::default()
    };
    if !meta.is_dir() {
        stat.size = meta.size() as i64;
    }
    if meta.file_type().is_symlink() {
        stat.linkname = std::fs::read_link(full)?.to_string_lossy().into_owned();
    }
    Ok(stat)
}

/// A Unix `st_mode` as Go's `os.FileMode`.
pub fn go_mode(mode: u32) -> u32 {
    let mut go = mode & 0o777;
    go |= match mode & libc::S_IFMT {
        libc::S_IFDIR => GO_DIR,
        libc::S_IFLNK => GO_SYMLINK,
        libc::S_IFBLK => GO_DEVICE,
        libc::S_IFCHR => GO_DEVICE | GO_CHAR_DEVICE,
        libc::S_IFIFO => GO_NAMED_PIPE,
        libc::S_IFSOCK => GO_SOCKET,
        _ => 0,
    };
    if mode & libc::S_ISUID != 0 {
        go |= GO_SETUID;
    }
    if mode & libc::S_ISGID != 0 {
        go |= GO_SETGID;
    }
    if mode & libc::S_ISVTX != 0 {
        go |= GO_STICKY;
    }
    go
}

/// Whether BuildKit may ask for the entry's bytes (a regular file).
pub fn is_regular(go: u32) -> bool {
    go & (GO_DIR | GO_SYMLINK | GO_DEVICE | GO_NAMED_PIPE | GO_SOCKET | GO_CHAR_DEVICE | (1 << 19))
        == 0
}

/// A directory holding one file made in memory (the exported Dockerfile).
pub fn single_file(name: &str, contents: bytes::Bytes) -> Vec<Entry> {
    vec![Entry {
        stat: Stat {
            path: name.to_owned(),
            mode: 0o644,
            size: contents.len() as i64,
            mod_time: content_time(&contents),
            ..Stat::default()
        },
        source: Some(Source::Memory(contents)),
    }]
}

/// A modification time that changes with the contents. BuildKit keeps
/// what a session sent before and sends again only entries whose stat
/// changed: two Dockerfiles of one size with one time (say `COPY app.go`
/// and `COPY web.go`) would read as the same file, and the second build
/// would run the first one's Dockerfile.
fn content_time(contents: &[u8]) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(contents);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Positive, so that it reads as a time after the epoch.
    (u64::from_be_bytes(first) >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_from_memory_changes_its_time_with_its_contents() {
        let time = |text: &'static str| {
            single_file("Dockerfile", bytes::Bytes::from(text))[0]
                .stat
                .mod_time
        };
        assert_ne!(time("COPY app.go ."), time("COPY web.go ."));
        assert_eq!(time("COPY app.go ."), time("COPY app.go ."));
    }

    fn paths(root: &Path, filter: &WalkFilter) -> Vec<String> {
        walk(root, filter)
            .unwrap()
            .into_iter()
            .map(|e| e.stat.path)
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn follow_paths_send_only_those_files_and_their_parents() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::write(root.join("src/deep/a.txt"), "a").unwrap();
        std::fs::write(root.join("src/b.txt"), "b").unwrap();
        std::fs::write(root.join("big.bin"), "x".repeat(1000)).unwrap();
        std::fs::write(root.join("src.txt"), "s").unwrap();
        let all = paths(root, &WalkFilter::default());
        assert_eq!(
            all,
            [
                "big.bin",
                "src",
                "src/b.txt",
                "src/deep",
                "src/deep/a.txt",
                "src.txt"
            ]
        );
        let filter = WalkFilter::new(&[], &[], &strings(&["src/deep"])).unwrap();
        assert_eq!(paths(root, &filter), ["src", "src/deep", "src/deep/a.txt"]);
        // Follow paths are patterns: `COPY *.go ./` asks for `*.go`.
        let filter = WalkFilter::new(&[], &[], &strings(&["*.txt"])).unwrap();
        assert_eq!(paths(root, &filter), ["src.txt"]);
        let filter = WalkFilter::new(&[], &[], &strings(&["src/*.txt"])).unwrap();
        assert_eq!(paths(root, &filter), ["src", "src/b.txt"]);
        let filter = WalkFilter::new(&[], &strings(&["*.txt"]), &[]).unwrap();
        assert_eq!(paths(root, &filter), ["src.txt"]);
        let filter = WalkFilter::new(&strings(&["src/deep", "big.bin"]), &[], &[]).unwrap();
        assert_eq!(paths(root, &filter), ["src", "src/b.txt", "src.txt"]);
        let filter = WalkFilter::new(&strings(&["src", "!src/deep/a.txt"]), &[], &[]).unwrap();
        assert_eq!(
            paths(root, &filter),
            ["big.bin", "src", "src/deep", "src/deep/a.txt", "src.txt"]
        );
    }

    #[test]
    fn modes_links_and_owners_are_sent_as_fsutil_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("f"), "data").unwrap();
        std::os::unix::fs::symlink("f", root.join("link")).unwrap();
        std::fs::hard_link(root.join("f"), root.join("g")).unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        let entries = walk(root, &WalkFilter::default()).unwrap();
        let by_path: HashMap<_, _> = entries.iter().map(|e| (e.stat.path.as_str(), e)).collect();
        assert_eq!(by_path["d"].stat.mode & GO_DIR, GO_DIR);
        assert_eq!(by_path["link"].stat.mode & GO_SYMLINK, GO_SYMLINK);
        assert_eq!(by_path["link"].stat.linkname, "f");
        assert!(by_path["link"].source.is_none());
        assert_eq!(by_path["f"].stat.size, 4);
        assert!(by_path["f"].source.is_some());
        assert_eq!(by_path["g"].stat.linkname, "f");
        assert!(by_path["g"].source.is_none());
        assert!(entries.iter().all(|e| e.stat.uid == 0 && e.stat.gid == 0));
        assert!(is_regular(by_path["f"].stat.mode));
        assert!(!is_regular(by_path["d"].stat.mode));
    }
}
