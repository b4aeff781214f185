//! `SOURCE_DATE_EPOCH` in the layers the native back end commits: before
//! a step's container is committed, every path its own layer adds or
//! changes is written back with its time clamped to the epoch (a later
//! time becomes the epoch, an earlier one stays), as BuildKit's
//! `rewrite-timestamp` does. The base image's layers are not touched
//! (moby/moby#43124).
//!
//! The Engine writes a layer from the container's own directory when it
//! commits, so the times are set in the container: each changed path's
//! entry is downloaded and extracted again with the clamped time (a
//! directory's entry without its contents). Files go first and
//! directories last: extracting a file again moves its directory's time,
//! extracting a directory's own entry moves nothing above it.
//!
//! What this cannot reach stays as the Engine writes it: the whiteout of
//! a path the step deleted carries the time of the deletion, a hard link
//! the step made comes back as a copy, and a mount point a step's mount
//! created keeps its time.

use std::collections::BTreeMap;

use super::engine_api::{OpError, StepEngine};

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
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut dirs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for change in changes
        .iter()
        .filter(|change| !change.deleted && !under_mount(&change.path, mount_targets))
    {
        let tar = engine.download_first_entry(container, &change.path).await?;
        let entry = clamped_first_entry(&tar, epoch)
            .map_err(|e| OpError::new("source date", format!("{}: {e}", change.path)))?;
        let parent = parent_dir(&change.path);
        if entry.dir {
            dirs.entry(parent).or_default().extend(entry.blocks);
        } else if entry.later {
            files.entry(parent).or_default().extend(entry.blocks);
        }
    }
    for (dir, mut blocks) in files.into_iter().chain(dirs) {
        blocks.extend_from_slice(&[0; 1024]);
        engine.upload_into(container, &dir, blocks).await?;
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
