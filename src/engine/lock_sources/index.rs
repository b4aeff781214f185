//! The per-platform manifests of a multi-platform image: the index the tag
//! resolved to, read from the registry itself (the Engine tells only the
//! index digest), through its HTTP API (`registry::api`).

use std::time::Duration;

use serde::Deserialize;

use crate::engine::registry::api::{DOCKER_LIST, OCI_INDEX, Repository};
use crate::engine::registry::credentials::Credentials;
use crate::engine::registry::reference::ImageRef;
use crate::lockfile::Lock;

/// What an index's manifests may be called.
pub const INDEX_TYPES: [&str; 2] = [OCI_INDEX, DOCKER_LIST];

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// `(platform, manifest digest)` of every platform the index `digest` of
/// `image` offers, sorted by platform; attestations (`unknown/unknown`) left out.
pub async fn platform_manifests(
    image: &ImageRef,
    digest: &str,
    credentials: Option<&Credentials>,
    idle: Duration,
) -> Result<Vec<(String, String)>, String> {
    let mut repository = Repository::new(image, credentials.cloned(), idle)?;
    let index = repository
        .manifest(digest, &INDEX_TYPES)
        .await?
        .ok_or("the registry answered 404 for the index")?;
    parse_index(&index.body)
}

/// The platforms and digests an index lists.
pub fn parse_index(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let index: Index =
        serde_json::from_slice(body).map_err(|error| format!("the index is not JSON: {error}"))?;
    let mut found: Vec<(String, String)> = index
        .manifests
        .into_iter()
        .filter_map(|entry| {
            let platform = entry.platform?;
            if platform.os == "unknown" || platform.os.is_empty() || !Lock::is_digest(&entry.digest)
            {
                return None;
            }
            let text = match platform.variant.filter(|v| !v.is_empty()) {
                Some(variant) => format!("{}/{}/{variant}", platform.os, platform.architecture),
                None => format!("{}/{}", platform.os, platform.architecture),
            };
            Some((text, entry.digest))
        })
        .collect();
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_lists_its_platforms_without_attestations() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        let c = format!("sha256:{}", "c".repeat(64));
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[
              {{"digest":"{b}","platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
              {{"digest":"{a}","platform":{{"os":"linux","architecture":"amd64"}}}},
              {{"digest":"{c}","platform":{{"os":"unknown","architecture":"unknown"}}}}]}}"#
        );
        let found = parse_index(body.as_bytes()).expect("an index");
        assert_eq!(
            found,
            [
                ("linux/amd64".to_owned(), a),
                ("linux/arm64/v8".to_owned(), b)
            ]
        );
    }
}
