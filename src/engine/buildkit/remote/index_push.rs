//! The index of a target built as parts, put in the registry: each
//! part's manifest is read back (when BuildKit wrapped it in an index of
//! its own, that index's manifests), with the image configs that name
//! their platforms; the index is assembled (`index`) and put by digest in
//! every repository of the target's tags. The builders pushed every part
//! to each of those repositories, so each holds what the index names. No
//! tag moves here: `tags` moves them once every target is done.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;

use super::index::{Descriptor, PartManifest, assemble_index};
use super::solve::repositories;
use crate::engine::registry::api::{DOCKER_LIST, MANIFEST_TYPES, Manifest, OCI_INDEX, Repository};
use crate::engine::registry::credentials::DockerConfig;
use crate::engine::registry::reference::ImageRef;

/// How long the registry may stay silent.
const IDLE: Duration = Duration::from_secs(60);

/// What one part pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedPart {
    pub platform: String,
    /// The manifest digest the builder reported.
    pub digest: String,
}

/// Assembles the index of `parts` and puts it, by digest, in every
/// repository of `tags`; its digest.
pub async fn push_index(
    tags: &[String],
    parts: &[PushedPart],
    config: &DockerConfig,
) -> Result<String, String> {
    let names = repositories(tags);
    let Some(first) = names.first() else {
        return Err("the target has no tag to put its index under".to_owned());
    };
    let mut source = open(first, config).await?;
    let mut manifests = Vec::new();
    for part in parts {
        let read = read_part(&mut source, part)
            .await
            .map_err(|e| format!("the part for {} ({}): {e}", part.platform, part.digest))?;
        manifests.extend(read);
    }
    let index = assemble_index(&manifests)?;
    let manifest = Manifest {
        media_type: index.media_type.clone(),
        body: Bytes::from(index.body),
        digest: None,
    };
    for name in &names {
        let mut other;
        let repository = if name == first {
            &mut source
        } else {
            other = open(name, config).await?;
            &mut other
        };
        let answered = repository
            .put_manifest(&index.digest, &manifest)
            .await
            .map_err(|e| format!("cannot put the index in {name}: {e}"))?;
        if !answered.is_empty() && answered != index.digest {
            return Err(format!(
                "{name} stored the index as {answered}, not {}",
                index.digest
            ));
        }
    }
    Ok(index.digest)
}

async fn open(name: &str, config: &DockerConfig) -> Result<Repository, String> {
    let parsed =
        ImageRef::parse(name).ok_or_else(|| format!("`{name}` is not a valid repository"))?;
    let credentials = config
        .credentials_for(&parsed)
        .await
        .map_err(|e| e.to_string())?;
    Repository::new(&parsed, credentials, IDLE)
}

/// The manifests `part` pushed, each with its image config.
async fn read_part(
    repository: &mut Repository,
    part: &PushedPart,
) -> Result<Vec<PartManifest>, String> {
    let manifest = fetch_manifest(repository, &part.digest).await?;
    let media_type = media_type_of(&manifest);
    if media_type == OCI_INDEX || media_type == DOCKER_LIST {
        let mut found = Vec::new();
        for descriptor in index_descriptors(&manifest.body)? {
            let config = if descriptor.is_attestation() {
                None
            } else {
                let child = fetch_manifest(repository, &descriptor.digest).await?;
                Some(config_of(repository, &child.body).await?)
            };
            found.push(PartManifest {
                requested: part.platform.clone(),
                descriptor,
                config,
            });
        }
        return Ok(found);
    }
    let config = config_of(repository, &manifest.body).await?;
    Ok(vec![PartManifest {
        requested: part.platform.clone(),
        descriptor: Descriptor {
            media_type,
            digest: part.digest.clone(),
            size: manifest.body.len() as u64,
            platform: None,
            annotations: None,
        },
        config: Some(config),
    }])
}

/// The manifest `digest` names (its bytes checked against it by the
/// registry client: the index names them by that digest and size).
async fn fetch_manifest(repository: &mut Repository, digest: &str) -> Result<Manifest, String> {
    repository
        .manifest(digest, &MANIFEST_TYPES)
        .await?
        .ok_or_else(|| format!("the registry does not have manifest {digest}"))
}

/// The media type the manifest says it has, else the one it was served as.
fn media_type_of(manifest: &Manifest) -> String {
    #[derive(Deserialize)]
    struct Typed {
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Typed>(&manifest.body)
        .ok()
        .and_then(|t| t.media_type)
        .unwrap_or_else(|| {
            let served = manifest.media_type.split(';').next().unwrap_or_default();
            served.trim().to_owned()
        })
}

/// The descriptors of an index.
fn index_descriptors(body: &[u8]) -> Result<Vec<Descriptor>, String> {
    #[derive(Deserialize)]
    struct Index {
        manifests: Vec<Descriptor>,
    }
    serde_json::from_slice::<Index>(body)
        .map(|index| index.manifests)
        .map_err(|e| format!("the builder's index cannot be read: {e}"))
}

/// The image config an image manifest names.
async fn config_of(repository: &mut Repository, manifest: &[u8]) -> Result<Vec<u8>, String> {
    let digest = config_digest(manifest)?;
    Ok(repository.blob(&digest).await?.to_vec())
}

fn config_digest(manifest: &[u8]) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Config {
        digest: String,
    }
    #[derive(Deserialize)]
    struct Image {
        config: Config,
    }
    serde_json::from_slice::<Image>(manifest)
        .map(|image| image.config.digest)
        .map_err(|e| format!("not an image manifest with a config: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_read_for_their_type_config_and_entries() {
        let body = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:c","size":1},"layers":[]}"#;
        let served = Manifest {
            media_type: "application/vnd.oci.image.manifest.v1+json; charset=utf-8".into(),
            body: Bytes::from_static(body),
            digest: None,
        };
        assert_eq!(
            media_type_of(&served),
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(config_digest(body).as_deref(), Ok("sha256:c"));
        assert!(config_digest(b"{\"manifests\":[]}").is_err());
        let index = br#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"m","digest":"sha256:a","size":3,"platform":{"os":"linux","architecture":"arm64"}}]}"#;
        let descriptors = index_descriptors(index).expect("descriptors");
        assert_eq!(descriptors[0].digest, "sha256:a");
        assert_eq!(
            descriptors[0].platform.as_ref().map(|p| p.text()),
            Some("linux/arm64".to_owned())
        );
        let typed = Manifest {
            media_type: String::new(),
            body: Bytes::from_static(index),
            digest: None,
        };
        assert_eq!(media_type_of(&typed), OCI_INDEX);
    }
}
