//! COPY from a stage or an image: the tar the Engine hands out for a path
//! (its last component at the root) rewritten to the destination, with the
//! same rules as a copy from the context: a directory's contents go into
//! the destination, a file goes to the destination or into it.
//!
//! The tar comes from the Engine, so every entry is checked: none may climb
//! out of the destination.

use std::io::Read;

use super::archive::{EntryKind, TarEntry, TarWriter};
use super::copy::{CopyError, clean_relative};
use super::owner::Owner;

/// Whether the Engine's tar for `source` holds a directory: its first
/// entry, the path itself, says so.
pub fn tar_is_directory(archive: &[u8], source: &str) -> Result<bool, CopyError> {
    let read_error = |error| CopyError::Io {
        path: source.to_owned(),
        source: error,
    };
    let mut reader = tar::Archive::new(archive);
    let first = reader.entries().map_err(read_error)?.next();
    match first {
        Some(entry) => {
            let entry = entry.map_err(read_error)?;
            Ok(entry.header().entry_type() == tar::EntryType::Directory)
        }
        None => Ok(false),
    }
}

/// Add the entries of `archive` (downloaded for `source`) under `dest`.
pub fn retarget(
    archive: &[u8],
    source: &str,
    dest: &str,
    into_dir: bool,
    writer: &mut TarWriter,
) -> Result<(), CopyError> {
    let read_error = |error| CopyError::Io {
        path: source.to_owned(),
        source: error,
    };
    let escapes = |entry: &str| CopyError::ArchiveEscapes {
        archive: source.to_owned(),
        entry: entry.to_owned(),
    };
    let mut reader = tar::Archive::new(archive);
    let mut root_is_dir = None;
    for entry in reader.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let clean = clean_relative(&raw).ok_or_else(|| escapes(&raw))?;
        let header = entry.header().clone();
        let is_dir = header.entry_type() == tar::EntryType::Directory;
        if root_is_dir.is_none() && is_dir {
            writer.copies_directory_into(dest);
        }
        let root_dir = *root_is_dir.get_or_insert(is_dir);
        let target = if root_dir {
            // Drop the root component: a directory's contents are copied.
            match clean.split_once('/') {
                Some((_, inner)) => join(dest, inner),
                None => continue,
            }
        } else if into_dir {
            join(dest, &named_as_source(&clean, source))
        } else {
            dest.to_owned()
        };
        let relocate = |link: &str| -> Result<String, CopyError> {
            let inner = clean_relative(link).ok_or_else(|| escapes(link))?;
            Ok(if root_dir {
                join(dest, inner.split_once('/').map_or("", |(_, rest)| rest))
            } else if into_dir {
                join(dest, &named_as_source(&inner, source))
            } else {
                dest.to_owned()
            })
        };
        let kind = match header.entry_type() {
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => {
                let link = entry.link_name().map_err(read_error)?.unwrap_or_default();
                EntryKind::Symlink(link.to_string_lossy().into_owned())
            }
            tar::EntryType::Link => {
                let link = entry.link_name().map_err(read_error)?.unwrap_or_default();
                EntryKind::HardLink(relocate(&link.to_string_lossy())?)
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).map_err(read_error)?;
                EntryKind::File(data)
            }
            _ => continue,
        };
        writer.add_entry(TarEntry {
            path: target,
            kind,
            mode: header.mode().unwrap_or(0o644),
            owner: Owner::default(),
            mtime: header.mtime().unwrap_or(0),
            keep_owner: false,
        })?;
    }
    if root_is_dir.is_none() {
        return Err(CopyError::NotFound(source.to_owned()));
    }
    Ok(())
}

/// `entry` with its first component renamed to the source's own name: when
/// the source is a link to a file, Docker names the copy after the link.
fn named_as_source(entry: &str, source: &str) -> String {
    let name = source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    if name.is_empty() {
        return entry.to_owned();
    }
    match entry.split_once('/') {
        Some((_, rest)) => format!("{name}/{rest}"),
        None => name.to_owned(),
    }
}

fn join(dir: &str, name: &str) -> String {
    if name.is_empty() {
        return dir.to_owned();
    }
    format!("{}/{}", dir.trim_end_matches('/'), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn downloaded(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in entries {
            let mut header = tar::Header::new_gnu();
            match content {
                Some(text) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(text.len() as u64);
                    header.set_mode(0o751);
                }
                None => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    header.set_mode(0o755);
                }
            }
            header.set_uid(1000);
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder
                .append(&header, content.unwrap_or_default().as_bytes())
                .unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn listed(writer: TarWriter) -> Vec<(String, u32, u64)> {
        let plan = writer.finish().unwrap();
        let bytes = plan.tar.to_bytes().unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                    e.header().uid().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn directory_contents_go_into_the_destination() {
        let tar = downloaded(&[
            ("out/", None),
            ("out/bin/", None),
            ("out/bin/tool", Some("T")),
        ]);
        let mut writer = TarWriter::new(Owner::default(), None);
        retarget(&tar, "/build/out", "/app", false, &mut writer).unwrap();
        assert_eq!(
            listed(writer),
            [
                ("app/bin/".to_owned(), 0o755, 0),
                ("app/bin/tool".to_owned(), 0o751, 0)
            ]
        );
    }

    #[test]
    fn a_file_goes_to_or_into_the_destination() {
        let tar = downloaded(&[("tool", Some("T"))]);
        let mut writer = TarWriter::new(Owner { uid: 5, gid: 5 }, None);
        retarget(&tar, "/build/tool", "/usr/bin/renamed", false, &mut writer).unwrap();
        assert_eq!(listed(writer), [("usr/bin/renamed".to_owned(), 0o751, 5)]);
        let mut writer = TarWriter::new(Owner::default(), None);
        retarget(&tar, "/build/tool", "/usr/bin", true, &mut writer).unwrap();
        assert_eq!(listed(writer), [("usr/bin/tool".to_owned(), 0o751, 0)]);
        // Downloaded through a link: the copy keeps the link's name.
        let mut writer = TarWriter::new(Owner::default(), None);
        retarget(&tar, "/build/current", "/usr/bin/", true, &mut writer).unwrap();
        assert_eq!(listed(writer), [("usr/bin/current".to_owned(), 0o751, 0)]);
    }

    #[test]
    fn hostile_entries_are_refused() {
        let tar = downloaded(&[("out/", None), ("../../etc/passwd", Some("x"))]);
        let mut writer = TarWriter::new(Owner::default(), None);
        assert!(matches!(
            retarget(&tar, "/out", "/app", false, &mut writer),
            Err(CopyError::ArchiveEscapes { .. })
        ));
        let mut writer = TarWriter::new(Owner::default(), None);
        assert!(matches!(
            retarget(&downloaded(&[]), "/none", "/app", false, &mut writer),
            Err(CopyError::NotFound(_))
        ));
    }
}
