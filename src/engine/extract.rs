//! Safe extraction of artifact tars (from `download_from_container`) onto
//! the host. Whatever the tar holds, nothing is written outside the output
//! directory:
//!
//! - entries are unpacked into a staging directory beside the output
//!   directory, then each top-level entry is renamed into place, so an
//!   interrupted or failed export leaves the output directory as it was;
//! - absolute paths, `..` components, symlinks or hard links that lead
//!   outside, writing through a symlink, and device files are refused.
//!
//! A symlink's target is followed through the links it meets, as the
//! kernel would once the files are in place (`links`): in the staging
//! directory for the names it holds, in the output directory for the
//! others. Each link is checked when written, and every link again, in
//! both directories, before anything is renamed into place, so a link
//! written later cannot re-aim one written earlier.
//!
//! Permission bits are kept (without setuid, setgid and sticky bits);
//! ownership is not. Imports nothing from the rest of the crate.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

mod links;

/// An artifact tar that cannot be extracted safely, or an I/O failure.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("the archive entry `{entry}` is refused: {reason}")]
    Refused { entry: String, reason: &'static str },
    #[error(
        "the link `{link}` already in the output directory would lead outside it once the new entries are in place"
    )]
    Redirected { link: String },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the artifact archive")]
    Archive {
        #[source]
        source: io::Error,
    },
}

/// What every staging directory's name starts with.
pub const STAGING_PREFIX: &str = ".stages-export-";

/// A staging directory beside the output directory; dropped without
/// `commit`, it disappears and the output directory is untouched.
#[derive(Debug)]
pub struct Staging {
    output: PathBuf,
    dir: tempfile::TempDir,
    /// Directories the archive gives a mode without owner write (or
    /// search): unpacked writable so their entries can be written, given
    /// their own mode before the commit, as `docker cp` leaves them.
    dir_modes: std::sync::Mutex<Vec<(PathBuf, u32)>>,
}

impl Staging {
    /// Creates the staging directory beside `output` (whose parent is
    /// created if missing).
    pub fn beside(output: &Path) -> Result<Self, ExtractError> {
        Self::beside_for(output, "")
    }

    /// The same, named after the build that owns it
    /// (`.stages-export-<build id>-…`), so that a later build can tell a
    /// dead build's staging directory from a running one's.
    pub fn beside_for(output: &Path, build_id: &str) -> Result<Self, ExtractError> {
        let parent = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|source| write_error(&parent, source))?;
        Self::create_in(output, &parent, build_id)
    }

    /// Creates the staging directory inside `output` (created if missing),
    /// for an output directory whose parent is not to be written.
    pub fn within(output: &Path) -> Result<Self, ExtractError> {
        Self::within_for(output, "")
    }

    /// The same, named after the build that owns it.
    pub fn within_for(output: &Path, build_id: &str) -> Result<Self, ExtractError> {
        fs::create_dir_all(output).map_err(|source| write_error(output, source))?;
        Self::create_in(output, output, build_id)
    }

    fn create_in(output: &Path, parent: &Path, build_id: &str) -> Result<Self, ExtractError> {
        let prefix = if build_id.is_empty() {
            STAGING_PREFIX.to_owned()
        } else {
            format!("{STAGING_PREFIX}{build_id}-")
        };
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(parent)
            .map_err(|source| write_error(parent, source))?;
        Ok(Self {
            dir_modes: std::sync::Mutex::default(),
            output: output.to_owned(),
            dir,
        })
    }

    /// Unpacks one tar into the staging directory, checking every entry.
    pub fn unpack(&self, archive: impl io::Read) -> Result<usize, ExtractError> {
        let root = self.dir.path();
        let mut archive = tar::Archive::new(archive);
        let mut count = 0;
        for entry in archive
            .entries()
            .map_err(|source| ExtractError::Archive { source })?
        {
            let mut entry = entry.map_err(|source| ExtractError::Archive { source })?;
            let raw_path = entry
                .path()
                .map_err(|source| ExtractError::Archive { source })?
                .into_owned();
            let shown = raw_path.display().to_string();
            let refuse = |reason| ExtractError::Refused {
                entry: shown.clone(),
                reason,
            };
            let kind = entry.header().entry_type();
            if matches!(
                kind,
                EntryType::XGlobalHeader
                    | EntryType::XHeader
                    | EntryType::GNULongName
                    | EntryType::GNULongLink
            ) {
                continue;
            }
            let relative = safe_relative(&raw_path).map_err(refuse)?;
            if relative.as_os_str().is_empty() {
                continue;
            }
            let target = root.join(&relative);
            ensure_real_parents(root, &relative).map_err(refuse)?;
            if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(refuse("it would write through a symlink"));
            }
            let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
            match kind {
                EntryType::Directory => {
                    fs::create_dir_all(&target).map_err(|source| write_error(&target, source))?;
                    set_mode(&target, mode | 0o700)?;
                    if mode & 0o700 != 0o700 {
                        self.dir_modes
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .push((target.clone(), mode));
                    }
                }
                EntryType::Regular | EntryType::Continuous => {
                    remove_existing_file(&target)?;
                    let mut file =
                        fs::File::create(&target).map_err(|source| write_error(&target, source))?;
                    io::copy(&mut entry, &mut file)
                        .map_err(|source| write_error(&target, source))?;
                    set_mode(&target, mode)?;
                }
                EntryType::Symlink => {
                    let link = entry
                        .link_name()
                        .map_err(|source| ExtractError::Archive { source })?
                        .ok_or_else(|| refuse("a symlink without a target"))?
                        .into_owned();
                    links::check_link(&self.view(), &relative, &link).map_err(refuse)?;
                    remove_existing_file(&target)?;
                    make_symlink(&link, &target)?;
                }
                EntryType::Link => {
                    let link = entry
                        .link_name()
                        .map_err(|source| ExtractError::Archive { source })?
                        .ok_or_else(|| refuse("a hard link without a target"))?
                        .into_owned();
                    let source_relative = safe_relative(&link).map_err(|_| {
                        refuse("its hard link target leads outside the output directory")
                    })?;
                    ensure_real_parents(root, &source_relative).map_err(refuse)?;
                    let source = root.join(&source_relative);
                    let meta = fs::symlink_metadata(&source)
                        .map_err(|_| refuse("its hard link target is not in the archive"))?;
                    if !meta.is_file() {
                        return Err(refuse("its hard link target is not a regular file"));
                    }
                    remove_existing_file(&target)?;
                    fs::hard_link(&source, &target)
                        .map_err(|source| write_error(&target, source))?;
                }
                EntryType::Char | EntryType::Block | EntryType::Fifo => {
                    return Err(refuse("device files and fifos are not exported"));
                }
                _ => return Err(refuse("unsupported archive entry type")),
            }
            count += 1;
        }
        Ok(count)
    }

    /// Moves every top-level entry into the output directory (created if
    /// missing), replacing entries of the same name; returns their paths.
    pub fn commit(self) -> Result<Vec<PathBuf>, ExtractError> {
        self.commit_with(|from, to| fs::rename(from, to))
    }

    /// The output directory as it will be once the staged entries are in place.
    fn view(&self) -> links::View<'_> {
        links::View {
            staging: Some(self.dir.path()),
            output: &self.output,
        }
    }

    /// `commit` with the rename given, so a failing one can be tested.
    fn commit_with(
        self,
        mut rename: impl FnMut(&Path, &Path) -> io::Result<()>,
    ) -> Result<Vec<PathBuf>, ExtractError> {
        let output = &self.output;
        links::check_all(&self.view())?;
        let mut dir_modes = std::mem::take(
            &mut *self
                .dir_modes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        // Deepest first: a parent's own mode may forbid reaching its children.
        dir_modes.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
        for (dir, mode) in &dir_modes {
            set_mode(dir, *mode)?;
        }
        fs::create_dir_all(output).map_err(|source| write_error(output, source))?;
        let trash = tempfile::Builder::new()
            .prefix(".stages-replaced-")
            .tempdir_in(self.dir.path())
            .map_err(|source| write_error(self.dir.path(), source))?;
        let mut names: Vec<_> = fs::read_dir(self.dir.path())
            .map_err(|source| write_error(self.dir.path(), source))?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .filter(|name| Some(name.as_os_str()) != trash.path().file_name())
            .collect();
        names.sort();
        let mut moves: Vec<Move> = Vec::new();
        for name in names {
            let staged = self.dir.path().join(&name);
            let destination = output.join(&name);
            let aside = trash.path().join(&name);
            let replaced = fs::symlink_metadata(&destination).is_ok();
            let placed = (|| {
                if replaced {
                    rename(&destination, &aside)?;
                }
                rename(&staged, &destination).inspect_err(|_| {
                    if replaced {
                        let _ = fs::rename(&aside, &destination);
                    }
                })
            })();
            if let Err(source) = placed {
                roll_back(&moves);
                return Err(write_error(&destination, source));
            }
            moves.push(Move {
                destination,
                aside: replaced.then_some(aside),
            });
        }
        // What was replaced may hold directories without owner write
        // (an earlier export's): make them removable with the staging.
        make_removable(trash.path());
        Ok(moves.into_iter().map(|m| m.destination).collect())
    }
}

/// Gives every directory under `root` owner read, write and search, so
/// that the tree can be removed by its owner.
fn make_removable(root: &Path) {
    let Ok(meta) = fs::symlink_metadata(root) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o700 != 0o700 {
            let _ = fs::set_permissions(root, fs::Permissions::from_mode(mode | 0o700));
        }
    }
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            make_removable(&entry.path());
        }
    }
}

/// One entry put in place, and where the entry it replaced was moved.
struct Move {
    destination: PathBuf,
    aside: Option<PathBuf>,
}

/// Undoes the moves already made, so a commit that fails half-way leaves
/// the output directory as it was.
fn roll_back(moves: &[Move]) {
    for done in moves.iter().rev() {
        let removed = match fs::symlink_metadata(&done.destination) {
            Ok(meta) if meta.is_dir() => {
                make_removable(&done.destination);
                fs::remove_dir_all(&done.destination)
            }
            Ok(_) => fs::remove_file(&done.destination),
            Err(_) => Ok(()),
        };
        if let (Ok(()), Some(aside)) = (removed, &done.aside) {
            let _ = fs::rename(aside, &done.destination);
        }
    }
}

/// The entry path made relative and checked: no root, no `..`.
fn safe_relative(path: &Path) -> Result<PathBuf, &'static str> {
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("its path contains `..`"),
            Component::RootDir | Component::Prefix(_) => return Err("its path is absolute"),
        }
    }
    Ok(clean)
}

/// Creates the entry's parent directories, refusing any that is a symlink.
fn ensure_real_parents(root: &Path, relative: &Path) -> Result<(), &'static str> {
    let mut current = root.to_owned();
    let Some(parent) = relative.parent() else {
        return Ok(());
    };
    for component in parent.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err("it would write through a symlink");
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err("a parent of it is not a directory"),
            Err(_) => fs::create_dir(&current).map_err(|_| "cannot create its parent directory")?,
        }
    }
    Ok(())
}

fn remove_existing_file(path: &Path) -> Result<(), ExtractError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(ExtractError::Refused {
            entry: path.display().to_string(),
            reason: "it would replace a directory",
        }),
        Ok(_) => fs::remove_file(path).map_err(|source| write_error(path, source)),
        Err(_) => Ok(()),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), ExtractError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|source| write_error(path, source))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<(), ExtractError> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(link: &Path, at: &Path) -> Result<(), ExtractError> {
    std::os::unix::fs::symlink(link, at).map_err(|source| write_error(at, source))
}

#[cfg(not(unix))]
fn make_symlink(_: &Path, at: &Path) -> Result<(), ExtractError> {
    Err(ExtractError::Refused {
        entry: at.display().to_string(),
        reason: "symlinks are not exported on this platform",
    })
}

fn write_error(path: &Path, source: io::Error) -> ExtractError {
    ExtractError::Write {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tar::Header;

    /// A tar written byte by byte, so paths the `tar` crate would refuse to
    /// write (absolute, `..`) can be made.
    enum Item<'a> {
        File(&'a str, &'a str),
        Dir(&'a str),
        Symlink(&'a str, &'a str),
        Hardlink(&'a str, &'a str),
        Device(&'a str),
    }

    fn raw_tar(items: &[Item]) -> Vec<u8> {
        let mut out = Vec::new();
        for item in items {
            let mut header = Header::new_old();
            let (path, kind, data, link) = match item {
                Item::File(p, d) => (*p, EntryType::Regular, d.as_bytes(), None),
                Item::Dir(p) => (*p, EntryType::Directory, &b""[..], None),
                Item::Symlink(p, l) => (*p, EntryType::Symlink, &b""[..], Some(*l)),
                Item::Hardlink(p, l) => (*p, EntryType::Link, &b""[..], Some(*l)),
                Item::Device(p) => (*p, EntryType::Char, &b""[..], None),
            };
            let bytes = header.as_mut_bytes();
            bytes[..path.len()].copy_from_slice(path.as_bytes());
            if let Some(link) = link {
                bytes[157..157 + link.len()].copy_from_slice(link.as_bytes());
            }
            header.set_entry_type(kind);
            header.set_mode(match item {
                Item::Dir(p) if p.starts_with("ro") => 0o555,
                _ => 0o755,
            });
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_size(data.len() as u64);
            header.set_cksum();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    fn unpack(items: &[Item]) -> (tempfile::TempDir, Result<Vec<PathBuf>, ExtractError>) {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("dist");
        let result = Staging::beside(&output).and_then(|staging| {
            staging.unpack(&raw_tar(items)[..])?;
            staging.commit()
        });
        (dir, result)
    }

    fn assert_refused(items: &[Item], why: &str) {
        let (dir, result) = unpack(items);
        match result {
            Err(ExtractError::Refused { reason, .. }) => assert!(reason.contains(why), "{reason}"),
            other => panic!("expected a refusal ({why}), got {other:?}"),
        }
        // Nothing reached the output directory, and no staging is left.
        assert!(!dir.path().join("dist").exists());
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(!dir.path().join("escaped").exists());
    }

    #[test]
    fn a_clean_archive_lands_in_the_output_directory() {
        let (dir, result) = unpack(&[
            Item::Dir("app/"),
            Item::File("app/bin", "binary"),
            Item::Symlink("app/current", "bin"),
            Item::Hardlink("app/bin2", "app/bin"),
            Item::File("./notes.txt", "n"),
        ]);
        let placed = result.unwrap();
        assert_eq!(placed.len(), 2);
        let out = dir.path().join("dist");
        assert_eq!(fs::read_to_string(out.join("app/bin")).unwrap(), "binary");
        assert_eq!(
            fs::read_to_string(out.join("app/current")).unwrap(),
            "binary"
        );
        assert_eq!(fs::read_to_string(out.join("app/bin2")).unwrap(), "binary");
        assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "n");
    }

    #[test]
    fn parent_components_are_refused() {
        assert_refused(&[Item::File("../escaped", "x")], "`..`");
        assert_refused(&[Item::File("app/../../escaped", "x")], "`..`");
    }

    #[test]
    fn absolute_paths_are_refused() {
        assert_refused(&[Item::File("/tmp/escaped", "x")], "absolute");
    }

    #[test]
    fn symlinks_out_are_refused() {
        assert_refused(&[Item::Symlink("link", "/etc/passwd")], "absolute");
        assert_refused(&[Item::Symlink("a/link", "../../escaped")], "outside");
    }

    #[test]
    fn writing_through_a_symlink_is_refused() {
        // The link itself stays inside, but the next entry writes through it.
        assert_refused(
            &[
                Item::Dir("d/"),
                Item::Symlink("link", "d"),
                Item::File("link/x", "x"),
            ],
            "through a symlink",
        );
        assert_refused(
            &[Item::Symlink("f", "g"), Item::File("f", "x")],
            "through a symlink",
        );
    }

    fn refused_entry(items: &[Item]) -> String {
        let (dir, result) = unpack(items);
        assert!(!dir.path().join("dist").exists());
        match result {
            Err(ExtractError::Refused { entry, .. }) => entry,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn stacked_dot_links_before_parent_steps_are_refused() {
        let items = [
            Item::Dir("out/"),
            Item::Symlink("out/c", "."),
            Item::Symlink("out/e", "c/c/c/c/../../../../etc/passwd"),
        ];
        assert_refused(&items, "outside");
        assert_eq!(refused_entry(&items), "out/e");
    }

    #[test]
    fn a_chain_of_links_is_followed_to_its_end() {
        // `d/up` alone stays inside; `e` through it climbs out.
        assert_refused(
            &[
                Item::Dir("d/"),
                Item::Symlink("d/up", ".."),
                Item::Symlink("e", "d/up/../escaped"),
            ],
            "outside",
        );
        assert_refused(
            &[
                Item::Dir("a/b/"),
                Item::Symlink("a/b/top", "../.."),
                Item::Symlink("to-top", "a/b/top"),
                Item::Symlink("e", "to-top/../escaped"),
            ],
            "outside",
        );
    }

    #[test]
    fn a_link_re_aimed_by_a_later_entry_is_refused() {
        // When `e` is written, `x` does not exist and `x/x/../..` is the
        // output directory itself; the later `x -> .` makes it its parent.
        let items = [
            Item::Symlink("e", "x/x/../../escaped"),
            Item::Symlink("x", "."),
        ];
        assert_refused(&items, "outside");
        assert_eq!(refused_entry(&items), "e");
        // The same when `x` was a file that a link replaces.
        assert_refused(
            &[
                Item::File("x", "plain"),
                Item::Symlink("e", "x/x/../../escaped"),
                Item::Symlink("x", "."),
            ],
            "outside",
        );
    }

    #[test]
    fn absolute_targets_are_refused_even_when_they_point_inside() {
        assert_refused(&[Item::Symlink("link", "/")], "absolute");
        assert_refused(&[Item::Symlink("a/link", "/a")], "absolute");
    }

    #[test]
    fn hard_links_to_links_are_refused() {
        assert_refused(
            &[
                Item::File("f", "x"),
                Item::Symlink("s", "f"),
                Item::Hardlink("h", "s"),
            ],
            "not a regular file",
        );
        assert_refused(
            &[
                Item::Dir("d/"),
                Item::File("d/f", "x"),
                Item::Symlink("l", "d"),
                Item::Hardlink("h", "l/f"),
            ],
            "through a symlink",
        );
    }

    #[test]
    fn a_link_is_never_replaced_by_a_directory_nor_a_directory_by_a_link() {
        assert_refused(
            &[Item::Symlink("c", "."), Item::Dir("c/")],
            "through a symlink",
        );
        assert_refused(
            &[
                Item::Symlink("c", "."),
                Item::Dir("c/c/"),
                Item::File("c/c/f", "x"),
            ],
            "through a symlink",
        );
        assert_refused(
            &[Item::Dir("c/"), Item::Symlink("c", ".")],
            "replace a directory",
        );
    }

    #[test]
    fn loops_of_links_are_refused() {
        assert_refused(&[Item::Symlink("a", "b"), Item::Symlink("b", "a")], "loop");
        assert_refused(&[Item::Symlink("self", "self/x")], "loop");
    }

    #[test]
    fn overlong_link_targets_are_refused() {
        // Written as a GNU long-link entry, as `tar` does past 100 bytes.
        let target = "a/".repeat(3000);
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::Symlink);
        header.set_size(0);
        let mut builder = tar::Builder::new(Vec::new());
        builder.append_link(&mut header, "long", &target).unwrap();
        let bytes = builder.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::beside(&dir.path().join("dist")).unwrap();
        match staging.unpack(&bytes[..]) {
            Err(ExtractError::Refused { entry, reason }) => {
                assert_eq!(entry, "long");
                assert!(reason.contains("longer"), "{reason}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn links_that_stay_inside_through_other_links_are_kept() {
        let (dir, result) = unpack(&[
            Item::Dir("out/d/"),
            Item::File("out/d/f", "data"),
            Item::Symlink("out/c", "."),
            Item::Symlink("out/l", "d"),
            Item::Symlink("out/m", "l/f"),
            Item::Symlink("out/n", "c/c/l/../d/f"),
            Item::Symlink("out/up", ".."),
            Item::Symlink("out/dangling", "not-there"),
        ]);
        result.unwrap();
        let out = dir.path().join("dist/out");
        assert_eq!(fs::read_to_string(out.join("m")).unwrap(), "data");
        assert_eq!(fs::read_to_string(out.join("n")).unwrap(), "data");
        assert!(fs::symlink_metadata(out.join("dangling")).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn links_already_in_the_output_directory_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("dist");
        fs::create_dir_all(&output).unwrap();
        std::os::unix::fs::symlink(".", output.join("x")).unwrap();
        std::os::unix::fs::symlink("/etc", output.join("abs")).unwrap();
        for (name, target) in [("e", "x/x/../../escaped"), ("p", "abs/passwd")] {
            let staging = Staging::beside(&output).unwrap();
            let tar = raw_tar(&[Item::Symlink(name, target)]);
            match staging.unpack(&tar[..]) {
                Err(ExtractError::Refused { entry, reason }) => {
                    assert_eq!(entry, name);
                    assert!(reason.contains("outside"), "{reason}");
                }
                other => panic!("expected a refusal of {name}, got {other:?}"),
            }
            assert!(fs::symlink_metadata(output.join(name)).is_err());
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_export_that_would_re_aim_a_link_already_in_place_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("dist");
        fs::create_dir_all(output.join("app/app")).unwrap();
        std::os::unix::fs::symlink("app/app/../../escaped", output.join("old")).unwrap();
        let staging = Staging::beside(&output).unwrap();
        // `app -> .` is inside by itself, but makes `old` climb out.
        staging
            .unpack(&raw_tar(&[Item::Symlink("app", ".")])[..])
            .unwrap();
        match staging.commit() {
            Err(ExtractError::Redirected { link }) => assert_eq!(link, "old"),
            other => panic!("expected the existing link to be named, got {other:?}"),
        }
        assert!(output.join("app/app").is_dir(), "the output is untouched");
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "staging must be gone: {left:?}");
    }

    #[test]
    fn hard_links_out_are_refused() {
        assert_refused(&[Item::Hardlink("h", "/etc/passwd")], "outside");
        assert_refused(&[Item::Hardlink("h", "../escaped")], "outside");
    }

    /// `docker cp` keeps a directory's mode; so does the export, though
    /// the directory is written into first, and a later export replaces it.
    #[cfg(unix)]
    #[test]
    fn a_read_only_directory_keeps_its_mode_and_is_replaced_later() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("dist");
        let archive = raw_tar(&[
            Item::Dir("ro/"),
            Item::Dir("ro/inner/"),
            Item::File("ro/inner/f", "x"),
        ]);
        for round in 0..2 {
            let staging = Staging::beside(&output).unwrap();
            staging.unpack(&archive[..]).unwrap();
            staging.commit().unwrap();
            for path in ["ro", "ro/inner"] {
                let mode = fs::metadata(output.join(path))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o555, "{path}, export {round}");
            }
            assert_eq!(fs::read_to_string(output.join("ro/inner/f")).unwrap(), "x");
            let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
            assert_eq!(left.len(), 1, "staging must be gone: {left:?}");
        }
        make_removable(&output);
    }

    #[test]
    fn devices_are_refused() {
        assert_refused(&[Item::Device("null")], "device");
    }

    #[test]
    fn commit_replaces_same_names_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("dist");
        fs::create_dir_all(output.join("app")).unwrap();
        fs::write(output.join("app/old"), "old").unwrap();
        fs::write(output.join("unrelated"), "u").unwrap();
        let staging = Staging::beside(&output).unwrap();
        staging
            .unpack(&raw_tar(&[Item::File("app", "new")])[..])
            .unwrap();
        staging.commit().unwrap();
        assert_eq!(fs::read_to_string(output.join("app")).unwrap(), "new");
        assert_eq!(fs::read_to_string(output.join("unrelated")).unwrap(), "u");
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "staging must be gone: {left:?}");
    }

    #[test]
    fn a_commit_that_fails_half_way_restores_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("dist");
        fs::create_dir_all(output.join("b")).unwrap();
        fs::write(output.join("a"), "old a").unwrap();
        fs::write(output.join("b/inner"), "old b").unwrap();
        let staging = Staging::beside(&output).unwrap();
        let items = [
            Item::File("a", "new a"),
            Item::File("b", "new b"),
            Item::File("c", "new c"),
        ];
        staging.unpack(&raw_tar(&items)[..]).unwrap();
        // Renames: a aside, a in place, b aside — then putting b in place fails.
        let mut calls = 0;
        let result = staging.commit_with(|from, to| {
            calls += 1;
            if calls == 4 {
                return Err(io::Error::other("disk gone"));
            }
            fs::rename(from, to)
        });
        assert!(matches!(result, Err(ExtractError::Write { .. })));
        assert_eq!(fs::read_to_string(output.join("a")).unwrap(), "old a");
        assert_eq!(fs::read_to_string(output.join("b/inner")).unwrap(), "old b");
        assert!(!output.join("c").exists());
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "staging must be gone: {left:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_staging_directory_within_the_output_is_left_out_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("project");
        fs::create_dir_all(&output).unwrap();
        fs::write(output.join("stages.toml"), "kept").unwrap();
        let staging = Staging::within(&output).unwrap();
        let items = [Item::Dir("app/"), Item::Symlink("app/up", "..")];
        staging.unpack(&raw_tar(&items)[..]).unwrap();
        staging.commit().unwrap();
        let mut names: Vec<_> = fs::read_dir(&output)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["app", "stages.toml"]);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn setuid_bits_are_dropped() {
        let mut header = Header::new_gnu();
        header.set_path("tool").unwrap();
        header.set_mode(0o4755);
        header.set_size(1);
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&header, &b"x"[..]).unwrap();
        let bytes = builder.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let staging = Staging::beside(&dir.path().join("out")).unwrap();
        staging.unpack(&bytes[..]).unwrap();
        let placed = staging.commit().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&placed[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o7777, 0o755);
        }
    }
}
