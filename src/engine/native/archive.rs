//! Planning the tar a step uploads at `/`, and digesting what it holds.
//!
//! The digest covers each entry's path, kind, mode, owner, link target and
//! content, never timestamps, so touching a file does not invalidate the
//! step cache while changing it does. A file of the context is planned by
//! its path and size and digested by reading it in a stream; its content
//! is read again only while the tar is sent (`engine::planned_tar`), so
//! a plan holds no file of the context in memory. Knows nothing of the
//! engine.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::copy::{CopyError, CopyPlan, ImpliedDir};
use super::owner::Owner;
use crate::engine::planned_tar::{EntryBody, PlannedTar};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    /// Content held in memory (extracted from an archive or another image).
    File(Vec<u8>),
    /// A file of the host, read only when the tar is sent.
    HostFile {
        path: PathBuf,
        size: u64,
        digest: Vec<u8>,
    },
    Symlink(String),
    /// A hard link to an earlier entry (absolute path in the image).
    HardLink(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// Absolute path in the image.
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub owner: Owner,
    pub mtime: u64,
    /// Keep `owner` and `mode` as given (extracted archives) instead of the
    /// step's `--chown`/`--chmod`.
    pub keep_owner: bool,
}

pub struct TarWriter {
    planned: PlannedTar,
    hasher: Sha256,
    owner: Owner,
    chmod: Option<u32>,
    entries: Vec<String>,
    dir_destinations: Vec<String>,
    implied_dirs: Vec<ImpliedDir>,
    sources: Vec<(String, String)>,
}

impl TarWriter {
    pub fn new(owner: Owner, chmod: Option<u32>) -> Self {
        Self {
            planned: PlannedTar::default(),
            hasher: Sha256::new(),
            owner,
            chmod,
            entries: Vec::new(),
            dir_destinations: Vec::new(),
            implied_dirs: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// The plan reads context file `path` (content digest `digest`, hex,
    /// or `link:<target>`): kept so a build record can name what changed.
    pub fn note_source(&mut self, path: &str, digest: String) {
        self.sources.push((path.to_owned(), digest));
    }

    /// An extracted archive writes under `dir` without making it.
    pub fn needs_directory(&mut self, dir: ImpliedDir) {
        self.implied_dirs.push(dir);
    }

    /// A directory's contents are copied into `dest`: Docker gives `dest`,
    /// when it creates it, the copy's owner, but the directories above it
    /// to root (for a file, every directory it creates gets the owner).
    pub fn copies_directory_into(&mut self, dest: &str) {
        let dest = dest.trim_end_matches('/');
        let dest = if dest.is_empty() { "/" } else { dest };
        if !self.dir_destinations.iter().any(|d| d == dest) {
            self.dir_destinations.push(dest.to_owned());
        }
    }

    /// A file of the host, of `size` bytes with content digest `digest`
    /// (read by the caller in a stream): sent from disk later.
    pub fn add_file(
        &mut self,
        target: &str,
        host: &Path,
        meta: &fs::Metadata,
        size: u64,
        digest: Vec<u8>,
    ) -> Result<(), CopyError> {
        self.add_entry(TarEntry {
            path: target.to_owned(),
            kind: EntryKind::HostFile {
                path: host.to_owned(),
                size,
                digest,
            },
            mode: mode_of(meta),
            owner: self.owner,
            mtime: mtime_of(meta),
            keep_owner: false,
        })
    }

    pub fn add_dir(&mut self, target: &str, meta: &fs::Metadata) -> Result<(), CopyError> {
        self.add_entry(TarEntry {
            path: target.to_owned(),
            kind: EntryKind::Dir,
            mode: mode_of(meta),
            owner: self.owner,
            mtime: mtime_of(meta),
            keep_owner: false,
        })
    }

    pub fn add_symlink(
        &mut self,
        target: &str,
        link: &Path,
        meta: &fs::Metadata,
    ) -> Result<(), CopyError> {
        self.add_entry(TarEntry {
            path: target.to_owned(),
            kind: EntryKind::Symlink(link.to_string_lossy().into_owned()),
            mode: 0o777,
            owner: self.owner,
            mtime: mtime_of(meta),
            keep_owner: false,
        })
    }

    pub fn add_entry(&mut self, entry: TarEntry) -> Result<(), CopyError> {
        let (owner, mode) = if entry.keep_owner {
            (entry.owner, entry.mode)
        } else {
            let mode = match (&entry.kind, self.chmod) {
                (EntryKind::Symlink(_), _) => 0o777,
                (_, Some(chmod)) => chmod,
                _ => entry.mode,
            };
            (self.owner, mode)
        };
        let path = entry.path.trim_start_matches('/');
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode);
        header.set_uid(owner.uid);
        header.set_gid(owner.gid);
        header.set_mtime(entry.mtime);
        let (tag, detail, name, body): (&str, Vec<u8>, String, EntryBody) = match entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                ("dir", Vec::new(), format!("{path}/"), EntryBody::Empty)
            }
            EntryKind::File(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                let digest = Sha256::digest(&data).to_vec();
                ("file", digest, path.to_owned(), EntryBody::Bytes(data))
            }
            EntryKind::HostFile {
                path: host,
                size,
                digest,
            } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(size);
                let body = EntryBody::Host { path: host, size };
                ("file", digest, path.to_owned(), body)
            }
            EntryKind::Symlink(link) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                let detail = link.as_bytes().to_vec();
                ("symlink", detail, path.to_owned(), EntryBody::Link(link))
            }
            EntryKind::HardLink(link) => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                let body = EntryBody::Link(link.trim_start_matches('/').to_owned());
                ("hardlink", link.as_bytes().to_vec(), path.to_owned(), body)
            }
        };
        self.planned.push(header, name, body);
        self.hasher.update(format!(
            "{tag}\0{}\0{mode:o}\0{}:{}\0",
            entry.path, owner.uid, owner.gid
        ));
        self.hasher.update(&detail);
        self.hasher.update(b"\n");
        self.entries.push(entry.path);
        Ok(())
    }

    pub fn finish(self) -> Result<CopyPlan, CopyError> {
        let digest = hex::encode(self.hasher.finalize());
        Ok(CopyPlan {
            tar: self.planned,
            digest,
            entries: self.entries,
            dir_destinations: self.dir_destinations,
            implied_dirs: self.implied_dirs,
            sources: self.sources,
        })
    }
}

fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

fn mtime_of(meta: &fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |elapsed| elapsed.as_secs())
}
