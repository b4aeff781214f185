//! COPY/ADD from the build context, planned as one tar to upload at `/`.
//!
//! Docker's rules: sources are relative to the context root and may hold
//! `filepath.Match` wildcards; copying a directory copies its contents; a
//! destination ending in `/` (or `.`), an existing directory, or several
//! sources make the destination a directory (several sources need the
//! trailing `/`); a relative destination is under WORKDIR. ADD extracts a
//! local tar (plain or gzip) into the destination. `.dockerignore` (a
//! `ContextFilter`) and `--exclude` leave files out. A source that leaves the
//! context, by `..` or through a symlink, is an error.
//!
//! Reads the host file system; knows nothing of the engine.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use super::archive::{EntryKind, TarEntry, TarWriter};
use super::copy_in_turn::{InTurn, copied_in_turn};
use super::extract_tree::{ExtractTree, Made, Unresolvable};
use super::owner::Owner;
use super::pathmatch::{BadPattern, has_wildcard, path_match};
use crate::engine::planned_tar::PlannedTar;

/// Which context paths `.dockerignore` leaves out (paths are `/`-separated,
/// relative to the context root).
pub trait ContextFilter {
    fn excluded(&self, path: &str) -> bool;
    /// Whether an excluded directory may hold re-included paths (`!` lines),
    /// so the walk must still enter it.
    fn may_reinclude_under(&self, _dir: &str) -> bool {
        false
    }
}

/// No `.dockerignore`.
pub struct NoFilter;

impl ContextFilter for NoFilter {
    fn excluded(&self, _path: &str) -> bool {
        false
    }
}

/// One COPY or ADD from the context, with every word already expanded.
pub struct CopyRequest<'a> {
    pub context: &'a Path,
    pub sources: &'a [String],
    pub dest: &'a str,
    /// The stage's WORKDIR at this step (absolute).
    pub workdir: &'a str,
    pub owner: Owner,
    pub chmod: Option<u32>,
    pub exclude: &'a [String],
    pub filter: &'a dyn ContextFilter,
    /// ADD: extract local tar archives.
    pub extract_archives: bool,
    /// The destination already exists as a directory in the image.
    pub dest_is_dir: bool,
    /// Set when the build no longer wants the plan: reading the context
    /// stops at the next file or chunk.
    pub cancel: Option<&'a AtomicBool>,
}

/// The tar to upload at `/`, and a digest of what it holds (paths, kinds,
/// modes, owners, link targets, contents; not timestamps).
#[derive(Debug, Clone)]
pub struct CopyPlan {
    pub tar: PlannedTar,
    pub digest: String,
    pub entries: Vec<String>,
    /// Where directories' contents were copied into (see
    /// `TarWriter::copies_directory_into`).
    pub dir_destinations: Vec<String>,
    /// Directories an extracted archive writes under without making them:
    /// they must not be links or files in the image (see `extract_tree`).
    pub implied_dirs: Vec<ImpliedDir>,
    /// The context files read (path, hex content digest or
    /// `link:<target>`), for the build record.
    pub sources: Vec<(String, String)>,
}

/// A directory above an extracted entry that the archive does not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpliedDir {
    /// Absolute path in the image.
    pub path: String,
    pub archive: String,
    /// The first entry written under it, as the archive names it.
    pub entry: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0:?} is outside the build context")]
    Escapes(String),
    #[error("{0:?} not found in the build context or excluded by .dockerignore")]
    NotFound(String),
    #[error("no source files were specified by {0:?}")]
    NoMatch(String),
    #[error(
        "{path:?} is a directory, and an earlier source of this step wrote {dest} as a file: several sources are copied onto a destination that is not a directory one after the other, as BuildKit does; end the destination with / to copy them all into it"
    )]
    DirectoryOverFile { path: String, dest: String },
    #[error(
        "{path:?} is {kind}: only files, directories and links can be copied from the build context"
    )]
    Special { path: String, kind: &'static str },
    #[error(transparent)]
    Pattern(#[from] BadPattern),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the build stopped while the context was being read")]
    Cancelled,
    #[error("archive {archive}: entry {entry:?} leaves the destination")]
    ArchiveEscapes { archive: String, entry: String },
    #[error("archive {archive}: entry {entry:?} is refused: {why}")]
    ArchiveLink {
        archive: String,
        entry: String,
        why: Unresolvable,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CopyError + '_ {
    move |source| CopyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Plan a COPY or ADD from the context.
pub fn plan_copy(request: &CopyRequest) -> Result<CopyPlan, CopyError> {
    let root = fs::canonicalize(request.context).map_err(io_error(request.context))?;
    let mut sources = Vec::new();
    for source in request.sources {
        let clean = clean_relative(source).ok_or_else(|| CopyError::Escapes(source.clone()))?;
        if has_wildcard(&clean) {
            let matched = match_wildcard(&root, &clean, request.filter)?;
            if matched.is_empty() {
                return Err(CopyError::NoMatch(source.clone()));
            }
            sources.extend(matched);
        } else {
            sources.push(clean);
        }
    }
    let dest = absolute_dest(request.workdir, request.dest);
    let dest_is_dir = request.dest_is_dir || ends_as_dir(request.dest);
    let into_dir = if sources.len() > 1 && !dest_is_dir {
        let makes_directory = sources
            .iter()
            .map(|source| makes_directory(request, &root, source))
            .collect::<Result<Vec<_>, _>>()?;
        match copied_in_turn(&makes_directory) {
            InTurn::IntoDirectory => true,
            InTurn::LastFile(last) => {
                sources.drain(..last);
                false
            }
            InTurn::DirectoryOverFile(index) => {
                return Err(CopyError::DirectoryOverFile {
                    path: sources[index].clone(),
                    dest,
                });
            }
        }
    } else {
        dest_is_dir
    };
    let mut writer = TarWriter::new(request.owner, request.chmod);
    for source in &sources {
        add_source(request, &root, source, &dest, into_dir, &mut writer)?;
    }
    writer.finish()
}

/// Whether `source` puts a directory at the destination: a directory, or
/// an archive ADD unpacks there.
fn makes_directory(request: &CopyRequest, root: &Path, source: &str) -> Result<bool, CopyError> {
    if !source.is_empty() && request.filter.excluded(source) {
        return Err(CopyError::NotFound(source.to_owned()));
    }
    let path = resolve_inside(root, source)?;
    let meta = fs::metadata(&path).map_err(io_error(&path))?;
    if meta.is_dir() {
        return Ok(true);
    }
    Ok(request.extract_archives && meta.is_file() && read_archive(&path)?.is_some())
}

fn add_source(
    request: &CopyRequest,
    root: &Path,
    source: &str,
    dest: &str,
    into_dir: bool,
    writer: &mut TarWriter,
) -> Result<(), CopyError> {
    if !source.is_empty() && request.filter.excluded(source) {
        return Err(CopyError::NotFound(source.to_owned()));
    }
    let path = resolve_inside(root, source)?;
    let meta = fs::metadata(&path).map_err(io_error(&path))?;
    if let Some(kind) = special_kind(&meta) {
        // Never opened: a named pipe would block the build for good.
        return Err(CopyError::Special {
            path: source.to_owned(),
            kind,
        });
    }
    if meta.is_dir() {
        writer.copies_directory_into(dest);
        return add_dir_contents(request, &path, source, dest, writer);
    }
    let name = source.rsplit('/').next().unwrap_or(source);
    if request.extract_archives
        && let Some(archive) = read_archive(&path)?
    {
        writer.note_source(source, hex::encode(Sha256::digest(&archive)));
        return extract_archive(&archive, source, dest, writer);
    }
    let target = if into_dir {
        join(dest, name)
    } else {
        dest.trim_end_matches('/').to_owned()
    };
    let (size, digest) = digest_file(request, &path)?;
    writer.note_source(source, hex::encode(&digest));
    writer.add_file(&target, &path, &meta, size, digest)
}

fn add_dir_contents(
    request: &CopyRequest,
    dir: &Path,
    source: &str,
    dest: &str,
    writer: &mut TarWriter,
) -> Result<(), CopyError> {
    let mut stack = vec![String::new()];
    while let Some(inner) = stack.pop() {
        let host = if inner.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(&inner)
        };
        let mut children: Vec<_> = fs::read_dir(&host)
            .map_err(io_error(&host))?
            .collect::<Result<_, _>>()
            .map_err(io_error(&host))?;
        children.sort_by_key(|entry| entry.file_name());
        for child in children {
            checkpoint(request)?;
            let Some(name) = child.file_name().to_str().map(str::to_owned) else {
                return Err(CopyError::Io {
                    path: child.path().display().to_string(),
                    source: std::io::Error::other("file name is not UTF-8"),
                });
            };
            let relative = join_rel(&inner, &name);
            let context_path = join_rel(source, &relative);
            let child_path = child.path();
            let meta = fs::symlink_metadata(&child_path).map_err(io_error(&child_path))?;
            let excluded =
                request.filter.excluded(&context_path) || excluded_by(request.exclude, &relative)?;
            if meta.is_dir() {
                if excluded && !request.filter.may_reinclude_under(&context_path) {
                    continue;
                }
                if !excluded {
                    writer.add_dir(&join(dest, &relative), &meta)?;
                }
                stack.push(relative);
                continue;
            }
            if excluded {
                continue;
            }
            let target = join(dest, &relative);
            if meta.file_type().is_symlink() {
                let link = fs::read_link(&child_path).map_err(io_error(&child_path))?;
                writer.note_source(&context_path, format!("link:{}", link.display()));
                writer.add_symlink(&target, &link, &meta)?;
            } else if meta.is_file() {
                let (size, digest) = digest_file(request, &child_path)?;
                writer.note_source(&context_path, hex::encode(&digest));
                writer.add_file(&target, &child_path, &meta, size, digest)?;
            }
            // Pipes, sockets and devices inside a directory are left out
            // unopened, as the dockerfile back end's context leaves them out.
        }
    }
    Ok(())
}

fn checkpoint(request: &CopyRequest) -> Result<(), CopyError> {
    match request.cancel {
        Some(cancel) if cancel.load(Ordering::Relaxed) => Err(CopyError::Cancelled),
        _ => Ok(()),
    }
}

/// A file's size and content digest, read in a stream, a chunk at a time.
fn digest_file(request: &CopyRequest, path: &Path) -> Result<(u64, Vec<u8>), CopyError> {
    let mut file = fs::File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0; 256 * 1024];
    let mut size = 0u64;
    loop {
        checkpoint(request)?;
        let read = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(io_error(path)(error)),
        };
        hasher.update(&chunk[..read]);
        size += read as u64;
    }
    Ok((size, hasher.finalize().to_vec()))
}

/// What a file that is neither a regular file, a directory nor a link is.
fn special_kind(meta: &fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_fifo() {
        Some("a named pipe")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else {
        None
    }
}

fn excluded_by(patterns: &[String], relative: &str) -> Result<bool, CopyError> {
    for pattern in patterns {
        let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
        // A pattern excludes a path or any directory above it.
        let mut prefix = String::new();
        for part in relative.split('/') {
            prefix = join_rel(&prefix, part);
            if path_match(pattern, &prefix)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Context paths matching a wildcard source, in sorted order.
fn match_wildcard(
    root: &Path,
    pattern: &str,
    filter: &dyn ContextFilter,
) -> Result<Vec<String>, CopyError> {
    let depth = pattern.split('/').count();
    let mut found = Vec::new();
    let mut stack = vec![(String::new(), 0usize)];
    while let Some((dir, level)) = stack.pop() {
        let host = resolve_inside(root, &dir)?;
        let entries = fs::read_dir(&host).map_err(io_error(&host))?;
        for entry in entries {
            let entry = entry.map_err(io_error(&host))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let path = join_rel(&dir, &name);
            if filter.excluded(&path) {
                continue;
            }
            if level + 1 == depth {
                if path_match(pattern, &path)? {
                    found.push(path);
                }
            } else if entry.file_type().map_err(io_error(&host))?.is_dir() {
                stack.push((path, level + 1));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The host path of a context path, after checking that neither `..` nor a
/// symlink leads outside the context.
fn resolve_inside(root: &Path, relative: &str) -> Result<PathBuf, CopyError> {
    let joined = if relative.is_empty() {
        root.to_path_buf()
    } else {
        root.join(relative)
    };
    match fs::canonicalize(&joined) {
        Ok(real) if real.starts_with(root) => Ok(real),
        Ok(_) => Err(CopyError::Escapes(relative.to_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(CopyError::NotFound(relative.to_owned()))
        }
        Err(error) => Err(io_error(&joined)(error)),
    }
}

/// `./a/../b/` → `b`; `None` when it climbs above the root.
pub fn clean_relative(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(parts.join("/"))
}

/// The absolute destination, without a trailing slash (`/` stays `/`).
pub fn absolute_dest(workdir: &str, dest: &str) -> String {
    let joined = if dest.starts_with('/') {
        dest.to_owned()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), dest)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `dir/`, `.`, `dir/.` name a directory.
pub fn ends_as_dir(dest: &str) -> bool {
    dest.ends_with('/')
        || dest == "."
        || dest.ends_with("/.")
        || dest == ".."
        || dest.ends_with("/..")
}

fn join(dir: &str, name: &str) -> String {
    if name.is_empty() {
        return dir.to_owned();
    }
    format!("{}/{}", dir.trim_end_matches('/'), name)
}

fn join_rel(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// A local tar archive's bytes (decompressed), or `None` if the file is not one.
fn read_archive(path: &Path) -> Result<Option<Vec<u8>>, CopyError> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(io_error(path))?;
    let plain = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .is_err()
        {
            return Ok(None);
        }
        out
    } else {
        bytes
    };
    let is_tar = plain.len() >= 512 && &plain[257..262] == b"ustar";
    Ok(is_tar.then_some(plain))
}

fn extract_archive(
    archive: &[u8],
    source: &str,
    dest: &str,
    writer: &mut TarWriter,
) -> Result<(), CopyError> {
    let escapes = |entry: &str| CopyError::ArchiveEscapes {
        archive: source.to_owned(),
        entry: entry.to_owned(),
    };
    let unresolvable = |entry: &str, why| CopyError::ArchiveLink {
        archive: source.to_owned(),
        entry: entry.to_owned(),
        why,
    };
    let read_error = |error| CopyError::Io {
        path: source.to_owned(),
        source: error,
    };
    let mut tree = ExtractTree::new();
    let mut reader = tar::Archive::new(archive);
    for entry in reader.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let relative = clean_relative(&raw_path).ok_or_else(|| escapes(&raw_path))?;
        if relative.is_empty() {
            continue;
        }
        let header = entry.header().clone();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => {
                let link = entry.link_name().map_err(read_error)?.unwrap_or_default();
                EntryKind::Symlink(link.to_string_lossy().into_owned())
            }
            tar::EntryType::Link => {
                let link = entry.link_name().map_err(read_error)?.unwrap_or_default();
                let link = link.to_string_lossy().into_owned();
                let inside = clean_relative(&link).ok_or_else(|| escapes(&link))?;
                let target = tree
                    .resolve_link_target(&inside, &relative)
                    .map_err(|why| unresolvable(&relative, why))?;
                EntryKind::HardLink(join(dest, &target))
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).map_err(read_error)?;
                EntryKind::File(data)
            }
            _ => continue,
        };
        let made = match &kind {
            EntryKind::Dir => Made::Dir,
            EntryKind::Symlink(link) => Made::Link(link),
            EntryKind::File(_) | EntryKind::HostFile { .. } | EntryKind::HardLink(_) => Made::File,
        };
        let landed = tree
            .place(&relative, made)
            .map_err(|why| unresolvable(&relative, why))?;
        writer.add_entry(TarEntry {
            path: join(dest, &landed),
            kind,
            mode: header.mode().unwrap_or(0o644),
            owner: Owner {
                uid: header.uid().unwrap_or(0),
                gid: header.gid().unwrap_or(0),
            },
            mtime: header.mtime().unwrap_or(0),
            keep_owner: true,
        })?;
    }
    for (dir, entry) in tree.implied_dirs() {
        writer.needs_directory(ImpliedDir {
            path: join(dest, dir),
            archive: source.to_owned(),
            entry: entry.clone(),
        });
    }
    Ok(())
}

/// The digest of one file's content.
pub fn file_digest(path: &Path) -> Result<String, CopyError> {
    let mut file = fs::File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io_error(path))?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
