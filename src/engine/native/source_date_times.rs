//! `SOURCE_DATE_EPOCH` in the layers the native back end commits: before
//! a step's container is committed, every path its own layer adds or
//! changes is written back with its time clamped to the epoch (a later
//! time becomes the epoch, an earlier one stays), as BuildKit's
//! `rewrite-timestamp` does. The base image's layers are not touched
//! (moby/moby#43124).
//!
//! The Engine writes a layer from the container's own directory when it
//! commits, so the times are set in the container: what the container
//! changed is downloaded and extracted again with the times clamped. A
//! directory the step added comes whole, in one download (all under it is
//! new); a changed path of the base comes alone (a directory without its
//! contents). Files and added directories go first and the base's
//! directories last: extracting a file again moves its directory's time,
//! extracting a directory's own entry moves nothing above it. The Engine
//! mounts the container for every download, so they run a few at once.
//!
//! What this cannot reach stays as the Engine writes it: the whiteout of
//! a path the step deleted carries the time of the deletion, a hard link
//! the step made outside a directory it added comes back as a copy, and a
//! mount point a step's mount created keeps its time.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::engine_api::{OpError, PathChange, StepEngine};

/// Downloads and uploads in flight at once.
const AT_ONCE: usize = 8;

/// Where the first entry of `tar` (with its extension headers and
/// content) ends, once `tar` holds all of it.
pub fn first_entry_end(tar: &[u8]) -> Option<usize> {
    let mut archive = tar::Archive::new(tar);
    let entry = archive.entries().ok()?.next()?.ok()?;
    let size = usize::try_from(entry.header().entry_size().ok()?).ok()?;
    let start = usize::try_from(entry.raw_file_position()).ok()?;
    let end = start.checked_add(size.div_ceil(512).checked_mul(512)?)?;
    (tar.len() >= end).then_some(end)
}

/// The first entry of a downloaded tar, its time clamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClampedEntry {
    pub dir: bool,
    /// Its time was later than the epoch.
    pub later: bool,
    /// The entry's blocks (extension headers, header, content), without
    /// the end-of-archive blocks.
    pub blocks: Vec<u8>,
}

/// The first entry of `tar` with its time clamped to `epoch`.
pub fn clamped_first_entry(tar: &[u8], epoch: u64) -> Result<ClampedEntry, String> {
    let end = first_entry_end(tar).ok_or("the Engine sent no complete tar entry")?;
    let mut archive = tar::Archive::new(tar);
    let entry = archive
        .entries()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("the Engine sent an empty tar")?
        .map_err(|e| e.to_string())?;
    let header_at = usize::try_from(entry.raw_header_position()).map_err(|e| e.to_string())?;
    let mtime = entry.header().mtime().map_err(|e| e.to_string())?;
    let dir = entry.header().entry_type().is_dir();
    let mut blocks = tar[..end].to_vec();
    let raw = blocks
        .get_mut(header_at..header_at + 512)
        .ok_or("the tar entry's header is cut short")?;
    let mut header = tar::Header::new_old();
    header.as_mut_bytes().copy_from_slice(raw);
    header.set_mtime(mtime.min(epoch));
    header.set_cksum();
    raw.copy_from_slice(header.as_bytes());
    Ok(ClampedEntry {
        dir,
        later: mtime > epoch,
        blocks,
    })
}

/// Every entry of `tar` with its time clamped to `epoch`, without the
/// end-of-archive blocks.
pub fn clamped_entries(tar: &[u8], epoch: u64) -> Result<Vec<u8>, String> {
    let mut blocks = tar.to_vec();
    let mut end = 0;
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let header_at = usize::try_from(entry.raw_header_position()).map_err(|e| e.to_string())?;
        let size = usize::try_from(entry.header().entry_size().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let data_at = usize::try_from(entry.raw_file_position()).map_err(|e| e.to_string())?;
        end = data_at + size.div_ceil(512) * 512;
        let mtime = entry.header().mtime().map_err(|e| e.to_string())?;
        let raw = blocks
            .get_mut(header_at..header_at + 512)
            .ok_or("a tar entry's header is cut short")?;
        let mut header = tar::Header::new_old();
        header.as_mut_bytes().copy_from_slice(raw);
        header.set_mtime(mtime.min(epoch));
        header.set_cksum();
        raw.copy_from_slice(header.as_bytes());
    }
    if end > blocks.len() {
        return Err("the tar is cut short".to_owned());
    }
    blocks.truncate(end);
    Ok(blocks)
}

/// How a changed path is written back.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unit {
    /// A path the step added, with all under it (all of it new).
    Whole(String),
    /// A path alone: a directory without its contents.
    Alone(String),
}

/// The changed paths as download units: an added path with no mount
/// under it comes whole, and what lies under it is covered by it.
fn units(changes: &[PathChange], mount_targets: &[String]) -> Vec<Unit> {
    let mut paths: Vec<&PathChange> = changes
        .iter()
        .filter(|change| !change.deleted && !under_mount(&change.path, mount_targets))
        .collect();
    paths.sort_by(|a, b| a.path.cmp(&b.path));
    let mut units = Vec::new();
    let mut covered: Option<String> = None;
    for change in paths {
        if covered
            .as_deref()
            .is_some_and(|root| is_under(&change.path, root))
        {
            continue;
        }
        let holds_mount = mount_targets
            .iter()
            .any(|target| is_under(target.trim_end_matches('/'), &change.path));
        if change.added && !holds_mount {
            covered = Some(change.path.clone());
            units.push(Unit::Whole(change.path.clone()));
        } else {
            units.push(Unit::Alone(change.path.clone()));
        }
    }
    units
}

/// Whether `path` lies strictly under `dir`.
fn is_under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
        && !dir.is_empty()
}

/// Whether `path` is a mount target of the step or lies under one: what
/// the container shows there is the mount's, not the layer's.
fn under_mount(path: &str, mount_targets: &[String]) -> bool {
    mount_targets.iter().any(|target| {
        let target = target.trim_end_matches('/');
        path == target
            || path
                .strip_prefix(target)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

fn parent_dir(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/".to_owned(),
        Some((parent, _)) => parent.to_owned(),
    }
}

/// Clamp the times of what `container`'s own layer adds or changes to
/// `epoch`, before it is committed.
pub async fn clamp_layer_times<E: StepEngine>(
    engine: &E,
    container: &str,
    epoch: u64,
    mount_targets: &[String],
) -> Result<(), OpError> {
    let changes = engine.changes(container).await?;
    let failed = |path: &str, e: String| OpError::new("source date", format!("{path}: {e}"));
    // (parent, blocks, is a directory of the base)
    let written: Vec<(String, Vec<u8>, bool)> = stream::iter(units(&changes, mount_targets))
        .map(|unit| async move {
            match unit {
                Unit::Whole(path) => {
                    let tar = engine.download(container, &path).await?;
                    let blocks = clamped_entries(&tar, epoch).map_err(|e| failed(&path, e))?;
                    Ok::<_, OpError>(Some((parent_dir(&path), blocks, false)))
                }
                Unit::Alone(path) => {
                    let tar = engine.download_first_entry(container, &path).await?;
                    let entry = clamped_first_entry(&tar, epoch).map_err(|e| failed(&path, e))?;
                    Ok((entry.dir || entry.later)
                        .then(|| (parent_dir(&path), entry.blocks, entry.dir)))
                }
            }
        })
        .buffered(AT_ONCE)
        .try_filter_map(|written| async move { Ok(written) })
        .try_collect()
        .await?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut dirs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (parent, blocks, base_dir) in written {
        let phase = if base_dir { &mut dirs } else { &mut files };
        phase.entry(parent).or_default().extend(blocks);
    }
    for phase in [files, dirs] {
        stream::iter(phase)
            .map(|(dir, mut blocks)| async move {
                blocks.extend_from_slice(&[0; 1024]);
                engine.upload_into(container, &dir, blocks).await
            })
            .buffer_unordered(AT_ONCE)
            .try_collect::<Vec<()>>()
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, Option<&[u8]>, u64)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, content, mtime) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(*mtime);
            match content {
                Some(data) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(0o644);
                    header.set_size(data.len() as u64);
                    builder.append_data(&mut header, name, *data).unwrap();
                }
                None => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(0o755);
                    header.set_size(0);
                    builder.append_data(&mut header, name, &[][..]).unwrap();
                }
            }
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn the_first_entry_ends_after_its_content_once_all_of_it_arrived() {
        let tar = tar_of(&[("d/", None, 5), ("d/f", Some(b"hello"), 5)]);
        assert_eq!(first_entry_end(&tar), Some(512));
        assert_eq!(first_entry_end(&tar[..100]), None);
        let file = tar_of(&[("f", Some(&[7; 600]), 5)]);
        assert_eq!(first_entry_end(&file), Some(512 + 1024));
        assert_eq!(first_entry_end(&file[..1000]), None);
    }

    #[test]
    fn a_later_time_becomes_the_epoch_and_an_earlier_one_stays() {
        let file = tar_of(&[("f", Some(b"content"), 2_000)]);
        let entry = clamped_first_entry(&file, 1_000).unwrap();
        assert!(!entry.dir && entry.later);
        let mut with_end = entry.blocks.clone();
        with_end.extend_from_slice(&[0; 1024]);
        let mut archive = tar::Archive::new(with_end.as_slice());
        let mut read = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(read.header().mtime().unwrap(), 1_000);
        let mut content = String::new();
        std::io::Read::read_to_string(&mut read, &mut content).unwrap();
        assert_eq!(content, "content", "the checksum was made again");
        let old = tar_of(&[("d/", None, 500), ("d/x", Some(b"x"), 9_999)]);
        let entry = clamped_first_entry(&old, 1_000).unwrap();
        assert!(entry.dir && !entry.later);
        assert_eq!(entry.blocks.len(), 512, "a directory without its contents");
        assert!(clamped_first_entry(&file[..200], 1_000).is_err());
    }

    #[test]
    fn every_entry_s_time_is_clamped_and_the_end_blocks_dropped() {
        let tar = tar_of(&[("d/", None, 5_000), ("d/f", Some(b"data"), 500)]);
        let blocks = clamped_entries(&tar, 1_000).unwrap();
        assert_eq!(blocks.len(), 512 * 3);
        let mut with_end = blocks;
        with_end.extend_from_slice(&[0; 1024]);
        let mut archive = tar::Archive::new(with_end.as_slice());
        let times: Vec<u64> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().header().mtime().unwrap())
            .collect();
        assert_eq!(times, [1_000, 500]);
    }

    fn change(path: &str, added: bool) -> PathChange {
        PathChange {
            path: path.to_owned(),
            added,
            deleted: false,
        }
    }

    #[test]
    fn an_added_directory_comes_whole_unless_a_mount_lies_under_it() {
        let changes = [
            change("/data", true),
            change("/data/a", true),
            change("/data/b", true),
            change("/etc", false),
            change("/etc/new", true),
            change("/etc/passwd", false),
            change("/work", true),
            change("/work/cache", true),
            change("/work/out", true),
            PathChange {
                path: "/bin/gone".to_owned(),
                added: false,
                deleted: true,
            },
        ];
        let mounts = ["/work/cache".to_owned()];
        assert_eq!(
            units(&changes, &mounts),
            [
                Unit::Whole("/data".into()),
                Unit::Alone("/etc".into()),
                Unit::Whole("/etc/new".into()),
                Unit::Alone("/etc/passwd".into()),
                Unit::Alone("/work".into()),
                Unit::Whole("/work/out".into()),
            ]
        );
    }

    #[test]
    fn paths_under_a_mount_are_the_mount_s_and_parents_are_directories() {
        let mounts = ["/root/.cache/".to_owned()];
        assert!(under_mount("/root/.cache", &mounts));
        assert!(under_mount("/root/.cache/x", &mounts));
        assert!(!under_mount("/root/.cachex", &mounts));
        assert!(!under_mount("/root", &mounts));
        assert_eq!(parent_dir("/f"), "/");
        assert_eq!(parent_dir("/a/b/c"), "/a/b");
    }
}
