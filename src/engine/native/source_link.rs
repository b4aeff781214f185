//! The source of a copy from another image, as Docker reads it: when the
//! path itself is a symbolic link, the copy reads what the link points to
//! (a directory's contents, or a file under the link's own name); links
//! inside a copied directory stay links. The Engine's archive download
//! hands out the link itself, so the link is resolved here, inside the
//! image's root, and the target downloaded instead.
//!
//! Knows the Engine only through `StepEngine`.

use super::copy::absolute_dest;
use super::engine_api::{OpError, StepEngine};

/// Docker's own bound on links followed in one path (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// The tar of `path` in `container`, its top-level link followed.
pub async fn download_followed<E: StepEngine>(
    engine: &E,
    container: &str,
    path: &str,
) -> Result<Vec<u8>, OpError> {
    let mut current = path.to_owned();
    for _ in 0..=MAX_LINKS {
        let tar = engine.download(container, &current).await?;
        match top_level_link(&tar)? {
            Some(link) => current = resolve_link(&current, &link),
            None => return Ok(tar),
        }
    }
    Err(OpError::new(
        "copy",
        format!("{path}: too many levels of symbolic links"),
    ))
}

/// Where a link at `path` pointing to `link` leads, as an absolute path in
/// the image (`..` stops at the root, as the Engine's scoped lookup does).
pub fn resolve_link(path: &str, link: &str) -> String {
    let parent = path.rsplit_once('/').map_or("/", |(parent, _)| parent);
    absolute_dest(if parent.is_empty() { "/" } else { parent }, link)
}

/// The link text when the archive's first entry, the downloaded path
/// itself, is a symbolic link.
fn top_level_link(tar: &[u8]) -> Result<Option<String>, OpError> {
    let bad = |e: std::io::Error| OpError::new("download", e.to_string());
    let mut archive = tar::Archive::new(tar);
    let Some(first) = archive.entries().map_err(bad)?.next() else {
        return Ok(None);
    };
    let first = first.map_err(bad)?;
    if first.header().entry_type() != tar::EntryType::Symlink {
        return Ok(None);
    }
    let link = first.link_name().map_err(bad)?.unwrap_or_default();
    Ok(Some(link.to_string_lossy().into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_beside_themselves_and_never_above_the_root() {
        assert_eq!(resolve_link("/opt/app/current", "v2"), "/opt/app/v2");
        assert_eq!(resolve_link("/opt/app/current", "../lib"), "/opt/lib");
        assert_eq!(resolve_link("/opt/app/current", "/srv/data/"), "/srv/data");
        assert_eq!(resolve_link("/link", "../../../etc"), "/etc");
        assert_eq!(resolve_link("/link", "."), "/");
    }

    #[test]
    fn only_a_link_at_the_top_is_followed() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder
            .append_link(&mut header, "current", "v2")
            .expect("link entry");
        let tar = builder.into_inner().expect("tar");
        assert_eq!(top_level_link(&tar).expect("read"), Some("v2".to_owned()));

        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        builder
            .append_data(&mut header, "dir/", std::io::empty())
            .expect("dir entry");
        let tar = builder.into_inner().expect("tar");
        assert_eq!(top_level_link(&tar).expect("read"), None);
    }
}
