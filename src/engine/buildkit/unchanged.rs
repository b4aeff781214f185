//! What a BuildKit solve's result depends on, in stages' own terms, so a
//! warm build can tell that a stage's image would come out the same and
//! skip the solve.
//!
//! Two parts. The *solve key* covers what stages sends: the exported
//! Dockerfile, the target stage, build args, labels, the ids of the
//! secrets given (not their contents: BuildKit's cache does not look at
//! them either, so a changed secret does not rebuild with a solve), the
//! ids the Engine has for every image the stages read (FROM, copies and
//! mounts from images) and the Engine's platform. The *context digest*
//! covers what BuildKit read of the build context: the solve notes each
//! listing BuildKit asked for (its `.dockerignore` excludes, include
//! patterns and follow paths: exactly the files COPY, ADD and bind mounts
//! read), and the digest walks those listings again, as the file sync
//! walks them, hashing each entry's path, mode, link target and content.
//! Modification times are left out, as BuildKit's content checksums leave
//! them out: a touched file does not change the image.
//!
//! A file's content hash is reused from the last digest when its size,
//! modification and change times, inode and device are the same and its
//! change time was already settled (two seconds old) when it was hashed;
//! the change time moves on every write, so content cannot change behind
//! an unchanged stamp.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use bollard_buildkit_proto::fsutil::types::Stat;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::walk::{BadPattern, Source, WalkFilter, is_regular, walk};

/// Bumped when the meaning of a key or digest changes.
const KEY_VERSION: &str = "stages-buildkit-solve-v1";
/// How old a file's change time must be for its hash to be reused later:
/// a write within the same clock tick as the hash would not move it.
const SETTLED_NS: i64 = 2_000_000_000;

/// One listing of a context directory BuildKit asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRead {
    /// The session's directory name (`context`).
    pub dir: String,
    pub excludes: Vec<String>,
    pub includes: Vec<String>,
    pub follow: Vec<String>,
}

impl ContextRead {
    pub fn filter(&self) -> Result<WalkFilter, BadPattern> {
        WalkFilter::new(&self.excludes, &self.includes, &self.follow)
    }
}

/// What a listing said of one entry: enough to tell that it changed
/// between the solve's walk and a later one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEntry {
    pub path: String,
    pub mode: u32,
    pub size: i64,
    pub mod_time: i64,
    pub linkname: String,
}

impl SentEntry {
    pub fn of(stat: &Stat) -> Self {
        Self {
            path: stat.path.clone(),
            mode: stat.mode,
            size: stat.size,
            mod_time: stat.mod_time,
            linkname: stat.linkname.clone(),
        }
    }
}

/// A regular file's content hash and the stamp it was taken at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    pub path: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
    /// The change time was settled when the hash was taken.
    pub settled: bool,
    pub sha256: String,
}

impl FileStamp {
    fn matches(&self, meta: &std::fs::Metadata) -> bool {
        self.settled
            && self.size == meta.size()
            && self.mtime_ns == mtime_ns(meta)
            && self.ctime_ns == ctime_ns(meta)
            && self.ino == meta.ino()
            && self.dev == meta.dev()
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.mtime() * 1_000_000_000 + meta.mtime_nsec()
}

fn ctime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.ctime() * 1_000_000_000 + meta.ctime_nsec()
}

/// Everything a solve's result depends on but the context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolveKeyInput {
    pub dockerfile: String,
    pub target: String,
    pub build_args: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub secret_ids: Vec<String>,
    /// (reference as written after expansion, the Engine's image id).
    pub images: Vec<(String, String)>,
    /// The Engine's `os/arch`: the platform BuildKit builds for by default.
    pub platform: String,
}

impl SolveKeyInput {
    /// `sha256:<hex>`; every field is length-prefixed, lists are sorted.
    pub fn key(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |text: &str| {
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        };
        field(KEY_VERSION);
        field(&self.dockerfile);
        field(&self.target);
        field(&self.platform);
        let mut pairs = |name: &str, list: &[(String, String)]| {
            let mut list = list.to_vec();
            list.sort();
            list.dedup();
            field(&format!("{name}:{}", list.len()));
            for (a, b) in &list {
                field(a);
                field(b);
            }
        };
        pairs("args", &self.build_args);
        pairs("labels", &self.labels);
        pairs("images", &self.images);
        let mut secrets = self.secret_ids.clone();
        secrets.sort();
        secrets.dedup();
        field(&format!("secrets:{}", secrets.len()));
        for id in &secrets {
            field(id);
        }
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }
}

/// What the context held for a set of listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextState {
    pub digest: String,
    /// Every regular file hashed (or found hashed), for the next digest.
    pub files: Vec<FileStamp>,
    /// Each listing as the walk saw it.
    pub listings: Vec<Vec<SentEntry>>,
}

/// Why a context digest could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Pattern(#[from] BadPattern),
    #[error("{0} changed while it was read")]
    Changed(String),
    #[error("the solve read directory `{0}`, which is not the build context")]
    OtherDir(String),
}

/// Walks each of `reads` in `root` (the session directory `dir`) again,
/// as the file sync would send it, and digests the listings. `known`
/// holds the stamps of the last digest.
pub fn digest_context(
    root: &Path,
    dir: &str,
    reads: &[ContextRead],
    known: &[FileStamp],
) -> Result<ContextState, DigestError> {
    let known: std::collections::HashMap<&str, &FileStamp> =
        known.iter().map(|s| (s.path.as_str(), s)).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let mut hasher = Sha256::new();
    let mut field = |text: &str| {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    };
    field(KEY_VERSION);
    let mut files: Vec<FileStamp> = Vec::new();
    let mut listings = Vec::new();
    for read in reads {
        if read.dir != dir {
            return Err(DigestError::OtherDir(read.dir.clone()));
        }
        field(&format!(
            "read:{}:{}:{}",
            read.excludes.len(),
            read.includes.len(),
            read.follow.len()
        ));
        for pattern in read
            .excludes
            .iter()
            .chain(&read.includes)
            .chain(&read.follow)
        {
            field(pattern);
        }
        let entries = walk(root, &read.filter()?)?;
        field(&format!("entries:{}", entries.len()));
        let mut listing = Vec::with_capacity(entries.len());
        for entry in &entries {
            let stat = &entry.stat;
            field(&stat.path);
            field(&format!("{:o}", stat.mode));
            field(&stat.linkname);
            let content = match &entry.source {
                Some(Source::Disk(full)) if is_regular(stat.mode) => {
                    let stamp = match files.iter().find(|s| s.path == stat.path) {
                        Some(done) => done.clone(),
                        None => {
                            let stamp = stamp_file(full, stat, known.get(stat.path.as_str()), now)?;
                            files.push(stamp.clone());
                            stamp
                        }
                    };
                    stamp.sha256
                }
                _ => String::new(),
            };
            field(&content);
            listing.push(SentEntry::of(stat));
        }
        listings.push(listing);
    }
    Ok(ContextState {
        digest: format!("sha256:{}", hex::encode(hasher.finalize())),
        files,
        listings,
    })
}

/// The file's stamp: the known one when it still matches, else a new hash,
/// refused when the file changed since the walk or while it was read.
fn stamp_file(
    full: &Path,
    stat: &Stat,
    known: Option<&&FileStamp>,
    now: i64,
) -> Result<FileStamp, DigestError> {
    let changed = || DigestError::Changed(stat.path.clone());
    let meta = std::fs::symlink_metadata(full)?;
    if meta.size() as i64 != stat.size || mtime_ns(&meta) != stat.mod_time {
        return Err(changed());
    }
    if let Some(known) = known
        && known.matches(&meta)
    {
        return Ok((*known).clone());
    }
    let mut file = std::fs::File::open(full)?;
    let before = file.metadata()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    let after = file.metadata()?;
    let same = |a: &std::fs::Metadata, b: &std::fs::Metadata| {
        a.size() == b.size()
            && mtime_ns(a) == mtime_ns(b)
            && ctime_ns(a) == ctime_ns(b)
            && a.ino() == b.ino()
    };
    if !same(&before, &after) || !same(&meta, &before) {
        return Err(changed());
    }
    Ok(FileStamp {
        path: stat.path.clone(),
        size: after.size(),
        mtime_ns: mtime_ns(&after),
        ctime_ns: ctime_ns(&after),
        ino: after.ino(),
        dev: after.dev(),
        settled: ctime_ns(&after) < now - SETTLED_NS,
        sha256: hex::encode(hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(follow: &[&str]) -> ContextRead {
        ContextRead {
            dir: "context".into(),
            excludes: vec![],
            includes: vec![],
            follow: follow.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn digest(root: &Path, reads: &[ContextRead]) -> ContextState {
        digest_context(root, "context", reads, &[]).unwrap()
    }

    #[test]
    fn every_part_of_the_key_changes_it() {
        let base = SolveKeyInput {
            dockerfile: "FROM busybox AS app\n".into(),
            target: "app".into(),
            build_args: vec![("A".into(), "1".into())],
            labels: vec![("l".into(), "v".into())],
            secret_ids: vec!["token".into()],
            images: vec![("busybox".into(), "sha256:b".into())],
            platform: "linux/amd64".into(),
        };
        let key = base.key();
        assert!(key.starts_with("sha256:") && key.len() == 71);
        let changes: Vec<fn(&mut SolveKeyInput)> = vec![
            |i| i.dockerfile.push('\n'),
            |i| i.target = "other".into(),
            |i| i.build_args[0].1 = "2".into(),
            |i| i.build_args.clear(),
            |i| i.labels[0].1 = "w".into(),
            |i| i.secret_ids.push("other".into()),
            |i| i.images[0].1 = "sha256:c".into(),
            |i| i.platform = "linux/arm64".into(),
        ];
        for (n, change) in changes.iter().enumerate() {
            let mut input = base.clone();
            change(&mut input);
            assert_ne!(input.key(), key, "change {n}");
        }
        let mut reordered = base.clone();
        reordered.build_args.push(("B".into(), "2".into()));
        let mut other_order = base.clone();
        other_order.build_args.insert(0, ("B".into(), "2".into()));
        assert_eq!(reordered.key(), other_order.key());
    }

    #[test]
    fn the_digest_follows_content_modes_and_links_of_what_was_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("read.txt"), "one").unwrap();
        std::fs::write(root.join("unread.txt"), "x").unwrap();
        let reads = [read(&["read.txt"])];
        let first = digest(root, &reads);
        assert_eq!(first.files.len(), 1);
        assert_eq!(digest(root, &reads).digest, first.digest, "stable");

        std::fs::write(root.join("unread.txt"), "changed").unwrap();
        assert_eq!(digest(root, &reads).digest, first.digest);

        std::fs::write(root.join("read.txt"), "two").unwrap();
        let edited = digest(root, &reads);
        assert_ne!(edited.digest, first.digest);

        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            root.join("read.txt"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        assert_ne!(digest(root, &reads).digest, edited.digest);

        std::fs::remove_file(root.join("read.txt")).unwrap();
        std::os::unix::fs::symlink("unread.txt", root.join("read.txt")).unwrap();
        let linked = digest(root, &reads);
        assert_ne!(linked.digest, edited.digest);

        // Another listing of the same files is another read.
        let all = digest(root, &[read(&[])]);
        assert_ne!(all.digest, linked.digest);
    }

    #[test]
    fn a_touched_file_keeps_its_digest_and_a_settled_stamp_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let file = root.join("a.txt");
        std::fs::write(&file, "same").unwrap();
        let reads = [read(&["a.txt"])];
        let first = digest(root, &reads);
        let handle = std::fs::File::options().write(true).open(&file).unwrap();
        handle
            .set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(7))
            .unwrap();
        drop(handle);
        assert_eq!(digest(root, &reads).digest, first.digest);

        // A settled stamp stands for the content while the file's stamp holds.
        let mut known = digest(root, &reads).files;
        known[0].settled = true;
        known[0].sha256 = "recorded".into();
        let reused = digest_context(root, "context", &reads, &known).unwrap();
        assert_eq!(reused.files[0].sha256, "recorded");
        // An unsettled one is hashed again.
        known[0].settled = false;
        let hashed = digest_context(root, "context", &reads, &known).unwrap();
        assert_eq!(hashed.digest, first.digest);
    }

    #[test]
    fn a_listing_of_another_directory_cannot_be_digested() {
        let dir = tempfile::tempdir().unwrap();
        let mut other = read(&[]);
        other.dir = "elsewhere".into();
        assert!(matches!(
            digest_context(dir.path(), "context", &[other], &[]),
            Err(DigestError::OtherDir(_))
        ));
    }
}
