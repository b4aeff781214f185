//! Registry tags of pushed targets, moved only once every target of the
//! build succeeded: each builder pushed its image by digest (no tag moved
//! then), and here the manifest is put under each tag through the
//! registry's API. A tag that cannot be set puts the tags already moved
//! back on the manifests they named before (best effort: a tag that was
//! new cannot be taken away through the API).

use std::time::Duration;

use crate::engine::registry::api::{MANIFEST_TYPES, Manifest, Repository};
use crate::engine::registry::credentials::DockerConfig;
use crate::engine::registry::reference::ImageRef;

/// How long the registry may stay silent.
const IDLE: Duration = Duration::from_secs(60);

/// A pushed image and the tags it gets.
#[derive(Debug, Clone)]
pub struct PushedImage {
    pub target: String,
    /// The manifest (or index) digest the builder pushed.
    pub digest: String,
    pub tags: Vec<String>,
}

/// A tag moved, and what it named before.
struct Moved {
    repository: Repository,
    tag: String,
    previous: Option<Manifest>,
}

/// Puts every image under its tags; on failure, what went wrong (the
/// tags moved so far are put back first).
pub async fn tag_pushed(images: &[PushedImage], config: &DockerConfig) -> Result<(), String> {
    let mut moved = Vec::new();
    for image in images {
        for tag in &image.tags {
            if let Err(error) = move_tag(image, tag, config, &mut moved).await {
                put_back(moved).await;
                return Err(format!(
                    "target `{}`: cannot tag {} as {tag}: {error}; the tags this build had moved were put back",
                    image.target, image.digest
                ));
            }
        }
    }
    Ok(())
}

async fn move_tag(
    image: &PushedImage,
    tag: &str,
    config: &DockerConfig,
    moved: &mut Vec<Moved>,
) -> Result<(), String> {
    let parsed = ImageRef::parse(tag).ok_or("not a valid image reference")?;
    let credentials = config
        .credentials_for(&parsed)
        .await
        .map_err(|e| e.to_string())?;
    let mut repository = Repository::new(&parsed, credentials, IDLE)?;
    let manifest = repository
        .manifest(&image.digest, &MANIFEST_TYPES)
        .await?
        .ok_or("the registry does not have the pushed manifest")?;
    let name = parsed.tag.clone().unwrap_or_else(|| "latest".to_owned());
    let previous = repository.manifest(&name, &MANIFEST_TYPES).await?;
    repository.put_manifest(&name, &manifest).await?;
    moved.push(Moved {
        repository,
        tag: name,
        previous,
    });
    Ok(())
}

/// Best effort: each moved tag back on the manifest it named.
async fn put_back(moved: Vec<Moved>) {
    for Moved {
        mut repository,
        tag,
        previous,
    } in moved.into_iter().rev()
    {
        if let Some(previous) = previous {
            let _ = repository.put_manifest(&tag, &previous).await;
        }
    }
}
