//! Wildcards in a copy from another stage or image, read as BuildKit reads
//! them: the source is a `path.Match` pattern, matched component by
//! component against the image's paths of the same depth (`*` never
//! crosses a `/`, a leading `.` is matched like any other character), the
//! matches copied in sorted order. A pattern that matches nothing copies
//! nothing (BuildKit's Dockerfile frontend allows an empty wildcard; the
//! classic builder fails there); one whose directory above the first
//! wildcard does not exist is an error naming that directory.
//!
//! The Engine lists no directory, so the directory above the first
//! wildcard component is downloaded once and its archive's entry names are
//! matched; each match is then downloaded as a source of its own (its own
//! link followed, as for a plain source).
//!
//! Knows the Engine only through `StepEngine`.

use std::collections::BTreeSet;

use super::engine_api::{OpError, StepEngine};
use super::pathmatch::{has_wildcard, path_match};
use super::source_link::download_followed;

/// The paths of the image in `container` that the absolute, cleaned
/// `pattern` matches, sorted (none is no error).
pub async fn expand_in_image<E: StepEngine>(
    engine: &E,
    container: &str,
    pattern: &str,
) -> Result<Vec<String>, OpError> {
    let prefix = literal_prefix(pattern);
    let listing = match download_followed(engine, container, &prefix).await {
        Ok(tar) => tar,
        Err(error) if error.not_found => {
            return Err(OpError::not_found(
                "copy",
                format!("{pattern}: the directory {prefix} is not in the source image"),
            ));
        }
        Err(error) => return Err(error),
    };
    matches_in_listing(pattern, &prefix, &listing)
}

/// The directory above the first component holding a wildcard, its
/// escapes removed: `/go/bin/*` → `/go/bin`, `/*/x` → `/`.
pub fn literal_prefix(pattern: &str) -> String {
    let literal: Vec<String> = pattern
        .split('/')
        .filter(|part| !part.is_empty())
        .take_while(|part| !has_wildcard(part))
        .map(unescape)
        .collect();
    format!("/{}", literal.join("/"))
}

fn unescape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut chars = part.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => out.extend(chars.next()),
            other => out.push(other),
        }
    }
    out
}

/// The paths under `prefix` that `pattern` matches, read off `listing`, a
/// tar of `prefix` whose first entry is `prefix` itself (the Engine's
/// archive download, named by its last component).
pub fn matches_in_listing(
    pattern: &str,
    prefix: &str,
    listing: &[u8],
) -> Result<Vec<String>, OpError> {
    let bad = |e: std::io::Error| OpError::new("copy", format!("listing {prefix}: {e}"));
    let depth = components(pattern);
    let mut archive = tar::Archive::new(listing);
    let mut root: Option<String> = None;
    let mut found = BTreeSet::new();
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let raw = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw);
        let name = name.trim_start_matches("./").trim_end_matches('/');
        let top = root.get_or_insert_with(|| name.to_owned());
        let Some(relative) = below(name, top) else {
            continue;
        };
        let path = if prefix == "/" {
            format!("/{relative}")
        } else {
            format!("{prefix}/{relative}")
        };
        if components(&path) == depth
            && path_match(pattern, &path)
                .map_err(|e| OpError::new("copy", format!("{pattern}: {e}")))?
        {
            found.insert(path);
        }
    }
    Ok(found.into_iter().collect())
}

/// `name` relative to the archive's top entry, `None` for the top itself
/// (or anything outside it).
fn below<'a>(name: &'a str, top: &str) -> Option<&'a str> {
    if top.is_empty() || top == "." {
        return (!name.is_empty() && name != ".").then_some(name);
    }
    name.strip_prefix(top)?
        .strip_prefix('/')
        .filter(|rest| !rest.is_empty())
}

fn components(path: &str) -> usize {
    path.split('/').filter(|part| !part.is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(names: &[&str]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for name in names {
            let mut header = tar::Header::new_gnu();
            if name.ends_with('/') {
                header.set_entry_type(tar::EntryType::Directory);
            }
            header.set_size(0);
            builder
                .append_data(&mut header, name, std::io::empty())
                .expect("entry");
        }
        builder.into_inner().expect("tar")
    }

    #[test]
    fn the_prefix_is_the_directory_above_the_first_wildcard() {
        assert_eq!(literal_prefix("/go/bin/app*"), "/go/bin");
        assert_eq!(literal_prefix("/*/bin"), "/");
        assert_eq!(literal_prefix("/a/[xy]/z*"), "/a");
        assert_eq!(literal_prefix("/a\\*b/c?"), "/a*b");
    }

    #[test]
    fn matches_are_of_the_pattern_depth_and_sorted() {
        let tar = listing(&[
            "dist/",
            "dist/go-httpbin",
            "dist/go-httpbin.test",
            "dist/other",
            "dist/go-httpbin-dir/",
            "dist/go-httpbin-dir/inner",
            "dist/.go-httpbin",
        ]);
        let found = matches_in_listing("/src/dist/go-httpbin*", "/src/dist", &tar).expect("match");
        assert_eq!(
            found,
            [
                "/src/dist/go-httpbin",
                "/src/dist/go-httpbin-dir",
                "/src/dist/go-httpbin.test",
            ]
        );
        let found = matches_in_listing("/src/dist/*", "/src/dist", &tar).expect("match");
        assert!(
            found.contains(&"/src/dist/.go-httpbin".to_owned()),
            "{found:?}"
        );
        let found = matches_in_listing("/src/dist/*/inner", "/src/dist", &tar).expect("match");
        assert_eq!(found, ["/src/dist/go-httpbin-dir/inner"]);
    }

    #[test]
    fn the_root_listing_is_matched_from_the_root() {
        let tar = listing(&["./", "./bin/", "./bin/sh", "./etc/", "./etc/hosts"]);
        let found = matches_in_listing("/*/sh", "/", &tar).expect("match");
        assert_eq!(found, ["/bin/sh"]);
        assert_eq!(
            matches_in_listing("/b?n", "/", &tar).expect("match"),
            ["/bin"]
        );
    }

    #[test]
    fn no_match_is_an_empty_list_and_a_bad_pattern_an_error() {
        let tar = listing(&["dist/", "dist/a"]);
        assert!(
            matches_in_listing("/x/dist/b*", "/x/dist", &tar)
                .expect("read")
                .is_empty()
        );
        assert!(matches_in_listing("/x/dist/[", "/x/dist", &tar).is_err());
    }
}
