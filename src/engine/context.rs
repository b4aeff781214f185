//! The build context tar, as `docker build` sends it: every file under the
//! context directory that `.dockerignore` keeps, owned by root, symlinks
//! stored as links (never followed). Like the docker CLI, the tar always
//! carries `.dockerignore` itself; the generated Dockerfile is added under
//! [`DOCKERFILE_NAME`].
//!
//! The Engine removes the Dockerfile and `.dockerignore` from what COPY sees
//! when `.dockerignore` excludes them, so the `.dockerignore` sent always
//! excludes the generated Dockerfile (one line appended; when the context
//! has no `.dockerignore`, one is sent that excludes both). A `COPY . …`
//! therefore sees exactly the user's context.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header, HeaderMode};

use super::dockerignore::{DockerIgnore, IgnoreError};
use super::planned_tar::{EntryBody, PlannedTar};

/// The generated Dockerfile's name inside the context tar.
pub const DOCKERFILE_NAME: &str = ".stages.Dockerfile";

const IGNORE_FILE: &str = ".dockerignore";

/// The context could not be read or packed.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("cannot read the build context {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid .dockerignore in {}", dir.display())]
    Ignore {
        dir: PathBuf,
        #[source]
        source: IgnoreError,
    },
}

/// A packed context, ready to send: planned, its files read only while
/// it is sent.
#[derive(Debug)]
pub struct ContextTar {
    pub tar: PlannedTar,
    /// How many files, links and directories of the context it holds.
    pub entries: usize,
}

/// Reads `.dockerignore` from the context directory (empty when absent).
pub fn read_dockerignore(
    context_dir: &Path,
) -> Result<(DockerIgnore, Option<String>), ContextError> {
    let path = context_dir.join(IGNORE_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let rules = DockerIgnore::parse(&text).map_err(|source| ContextError::Ignore {
                dir: context_dir.to_owned(),
                source,
            })?;
            Ok((rules, Some(text)))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((DockerIgnore::default(), None)),
        Err(source) => Err(ContextError::Read { path, source }),
    }
}

/// Packs `context_dir` with `dockerfile` added as [`DOCKERFILE_NAME`].
pub fn pack_context(context_dir: &Path, dockerfile: &str) -> Result<ContextTar, ContextError> {
    let (rules, ignore_text) = read_dockerignore(context_dir)?;
    let mut packer = Packer {
        rules: &rules,
        tar: PlannedTar::default(),
        entries: 0,
    };
    packer.walk(context_dir, "")?;
    let sent_ignore = match ignore_text {
        Some(text) => format!("{}\n/{DOCKERFILE_NAME}\n", text.trim_end_matches('\n')),
        None => format!("/{IGNORE_FILE}\n/{DOCKERFILE_NAME}\n"),
    };
    packer.add_generated(IGNORE_FILE, sent_ignore.as_bytes())?;
    packer.add_generated(DOCKERFILE_NAME, dockerfile.as_bytes())?;
    Ok(ContextTar {
        tar: packer.tar,
        entries: packer.entries,
    })
}

impl ContextTar {
    /// The whole tar in memory.
    pub fn to_bytes(&self) -> io::Result<Vec<u8>> {
        self.tar.to_bytes()
    }
}

struct Packer<'a> {
    rules: &'a DockerIgnore,
    tar: PlannedTar,
    entries: usize,
}

impl Packer<'_> {
    fn walk(&mut self, dir: &Path, relative: &str) -> Result<(), ContextError> {
        let mut children: Vec<_> = fs::read_dir(dir)
            .map_err(|source| read_error(dir, source))?
            .collect::<Result<_, _>>()
            .map_err(|source| read_error(dir, source))?;
        children.sort_by_key(|entry| entry.file_name());
        for child in children {
            let name = child.file_name();
            let Some(name) = name.to_str() else {
                return Err(read_error(
                    &child.path(),
                    io::Error::new(io::ErrorKind::InvalidData, "file name is not UTF-8"),
                ));
            };
            let path = child.path();
            let child_relative = if relative.is_empty() {
                name.to_owned()
            } else {
                format!("{relative}/{name}")
            };
            // Sent separately, whatever the rules say.
            if child_relative == IGNORE_FILE || child_relative == DOCKERFILE_NAME {
                continue;
            }
            let meta = fs::symlink_metadata(&path).map_err(|source| read_error(&path, source))?;
            let excluded = self.rules.is_excluded(&child_relative);
            if meta.is_dir() {
                if !excluded {
                    self.append(&path, &child_relative, &meta)?;
                    self.walk(&path, &child_relative)?;
                } else if self.rules.may_reinclude_under(&child_relative) {
                    self.walk(&path, &child_relative)?;
                }
            } else if !excluded {
                self.append(&path, &child_relative, &meta)?;
            }
        }
        Ok(())
    }

    fn append(
        &mut self,
        path: &Path,
        relative: &str,
        meta: &fs::Metadata,
    ) -> Result<(), ContextError> {
        let mut header = Header::new_gnu();
        header.set_metadata_in_mode(meta, HeaderMode::Complete);
        header.set_uid(0);
        header.set_gid(0);
        let kind = meta.file_type();
        let (name, body) = if kind.is_symlink() {
            let target = fs::read_link(path).map_err(|source| read_error(path, source))?;
            header.set_entry_type(EntryType::Symlink);
            header.set_size(0);
            let target = target.to_string_lossy().into_owned();
            (relative.to_owned(), EntryBody::Link(target))
        } else if kind.is_dir() {
            header.set_entry_type(EntryType::Directory);
            header.set_size(0);
            (format!("{relative}/"), EntryBody::Empty)
        } else if kind.is_file() {
            let body = EntryBody::Host {
                path: path.to_owned(),
                size: meta.len(),
            };
            (relative.to_owned(), body)
        } else {
            // Sockets, fifos and devices are not build inputs; never opened.
            return Ok(());
        };
        self.tar.push(header, name, body);
        self.entries += 1;
        Ok(())
    }

    fn add_generated(&mut self, name: &str, data: &[u8]) -> Result<(), ContextError> {
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        self.tar
            .push(header, name.to_owned(), EntryBody::Bytes(data.to_vec()));
        Ok(())
    }
}

fn read_error(path: &Path, source: io::Error) -> ContextError {
    ContextError::Read {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn entries(tar_bytes: &[u8]) -> Vec<(String, String)> {
        let mut archive = tar::Archive::new(tar_bytes);
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut text = String::new();
            if entry.header().entry_type().is_file() {
                entry.read_to_string(&mut text).unwrap();
            }
            assert_eq!(entry.header().uid().unwrap(), 0);
            out.push((path, text));
        }
        out
    }

    fn names(tar_bytes: &[u8]) -> Vec<String> {
        entries(tar_bytes).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn honours_dockerignore_and_keeps_the_build_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("target/debug")).unwrap();
        fs::create_dir_all(root.join("src/target")).unwrap();
        fs::create_dir_all(root.join("docs/keep")).unwrap();
        fs::write(root.join("target/debug/app"), "bin").unwrap();
        fs::write(root.join("src/target/x.rs"), "x").unwrap();
        fs::write(root.join("src/main.rs"), "fn main(){}").unwrap();
        fs::write(root.join("docs/a.md"), "a").unwrap();
        fs::write(root.join("docs/keep/b.md"), "b").unwrap();
        fs::write(root.join("secret.key"), "k").unwrap();
        fs::write(
            root.join(".dockerignore"),
            "target\n*.key\ndocs\n!docs/keep\n.dockerignore\n",
        )
        .unwrap();
        let tar = pack_context(root, "FROM scratch\n").unwrap();
        let names = names(&tar.to_bytes().unwrap());
        assert!(names.contains(&"src/target/x.rs".to_owned()), "{names:?}");
        assert!(names.contains(&"src/main.rs".to_owned()));
        assert!(names.contains(&"docs/keep/b.md".to_owned()));
        assert!(!names.iter().any(|n| n.starts_with("target")), "{names:?}");
        assert!(!names.contains(&"secret.key".to_owned()));
        assert!(!names.contains(&"docs/a.md".to_owned()));
        assert!(!names.contains(&"docs/".to_owned()));
        let all = entries(&tar.to_bytes().unwrap());
        let ignore = all.iter().find(|(p, _)| p == ".dockerignore").unwrap();
        assert!(ignore.1.starts_with("target\n*.key"));
        assert!(ignore.1.ends_with("/.stages.Dockerfile\n"));
        let dockerfile = all.iter().find(|(p, _)| p == DOCKERFILE_NAME).unwrap();
        assert_eq!(dockerfile.1, "FROM scratch\n");
    }

    #[test]
    fn without_dockerignore_the_generated_files_hide_themselves() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        let tar = pack_context(dir.path(), "FROM scratch\n").unwrap();
        let all = entries(&tar.to_bytes().unwrap());
        let ignore = all.iter().find(|(p, _)| p == ".dockerignore").unwrap();
        let rules = DockerIgnore::parse(&ignore.1).unwrap();
        assert!(rules.is_excluded(".dockerignore"));
        assert!(rules.is_excluded(DOCKERFILE_NAME));
        assert!(!rules.is_excluded("a.txt"));
        assert_eq!(tar.entries, 1);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_stored_as_links() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let tar = pack_context(dir.path(), "").unwrap();
        let bytes = tar.to_bytes().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let link = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .find(|e| e.path().unwrap().to_str() == Some("link"))
            .unwrap();
        assert_eq!(link.header().entry_type(), EntryType::Symlink);
        assert_eq!(
            link.link_name().unwrap().unwrap().to_str(),
            Some("/etc/passwd")
        );
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_left_out_unopened() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(dir.path().join("pipe"))
            .status()
            .unwrap();
        assert!(made.success());
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
        let root = dir.path().to_owned();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(pack_context(&root, "").map(|tar| names(&tar.to_bytes().unwrap())));
        });
        let names = receiver
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("packing the context blocked")
            .unwrap();
        assert!(names.contains(&"a.txt".to_owned()), "{names:?}");
        assert!(
            !names.iter().any(|n| n == "pipe" || n == "sock"),
            "{names:?}"
        );
    }

    #[test]
    fn a_packed_context_holds_no_file_content_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let size: u64 = 64 << 20;
        fs::File::create(dir.path().join("big"))
            .unwrap()
            .set_len(size)
            .unwrap();
        let tar = pack_context(dir.path(), "FROM scratch\n").unwrap();
        assert!(
            tar.tar.bytes_held() < 64 * 1024,
            "the context holds {} bytes",
            tar.tar.bytes_held()
        );
        let bytes = tar.to_bytes().unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let big = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .find(|e| e.path().unwrap().to_str() == Some("big"))
            .unwrap();
        assert_eq!(big.size(), size);
    }

    #[test]
    fn a_bad_dockerignore_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".dockerignore"), "!\n").unwrap();
        let error = pack_context(dir.path(), "").unwrap_err();
        assert!(matches!(error, ContextError::Ignore { .. }));
    }
}
