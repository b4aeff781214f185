//! The digest a tag resolves to: the Engine asks the registry
//! (`GET /distribution/{name}/json`, the registry's answer for the tag with
//! the user's credentials — the index digest when the tag names an index,
//! and the platforms it offers). When the registry cannot be reached, the
//! Engine's own copy of the tag stands in: the digest it was pulled by
//! (RepoDigests), which is said per image.

use super::super::client::{DockerEngine, Engine};
use super::REMOTE_TIMEOUT;
use super::index::{INDEX_TYPES, platform_manifests};
use crate::engine::registry::credentials::DockerConfig;
use crate::engine::registry::reference::ImageRef;
use crate::lockfile::compare::platform_matches;
use crate::lockfile::{Lock, LockedImage, Resolution};

/// A locked image, and a note when it did not come from the registry.
#[derive(Debug)]
pub struct ResolvedImage {
    pub locked: LockedImage,
    pub note: Option<String>,
}

/// Resolves `reference` (a tag) to its digest, with the manifest digests
/// of the `wanted` platforms; an error says why neither the registry nor
/// the Engine could tell.
pub async fn resolve_image(
    engine: &DockerEngine,
    config: &DockerConfig,
    reference: &str,
    wanted: &[String],
) -> Result<ResolvedImage, String> {
    let parsed = ImageRef::parse(reference)
        .ok_or_else(|| format!("image {reference}: not a valid image reference"))?;
    let credentials = config
        .credentials_for(&parsed)
        .await
        .map_err(|error| format!("image {reference}: {error}"))?;
    let asked = engine
        .docker()
        .inspect_registry_image(
            &parsed.pinned(),
            credentials
                .as_ref()
                .map(super::super::client::docker_credentials),
        )
        .await;
    let registry_error = match asked {
        Ok(answer)
            if answer
                .descriptor
                .digest
                .as_deref()
                .is_some_and(Lock::is_digest) =>
        {
            let mut platforms: Vec<String> = answer
                .platforms
                .iter()
                .map(|p| {
                    platform_text(
                        p.os.as_deref().unwrap_or_default(),
                        p.architecture.as_deref().unwrap_or_default(),
                        p.variant.as_deref(),
                    )
                })
                .collect();
            platforms.sort();
            platforms.dedup();
            let digest = answer.descriptor.digest.unwrap_or_default();
            let is_index = answer
                .descriptor
                .media_type
                .as_deref()
                .is_some_and(|t| INDEX_TYPES.contains(&t));
            let mut note = None;
            let manifests = if is_index {
                match platform_manifests(&parsed, &digest, credentials.as_ref(), REMOTE_TIMEOUT)
                    .await
                {
                    Ok(all) => all
                        .into_iter()
                        .filter(|(offered, _)| wanted.iter().any(|w| platform_matches(w, offered)))
                        .collect(),
                    Err(error) => {
                        note = Some(format!(
                            "image {reference}: its index {digest} could not be read ({error}); its per-platform manifest digests are not locked"
                        ));
                        Vec::new()
                    }
                }
            } else {
                platforms
                    .iter()
                    .map(|p| (p.clone(), digest.clone()))
                    .collect()
            };
            return Ok(ResolvedImage {
                locked: LockedImage {
                    reference: reference.to_owned(),
                    digest,
                    platforms,
                    manifests,
                    resolution: Resolution::Registry,
                    span: Default::default(),
                },
                note,
            });
        }
        Ok(_) => "the registry gave no sha256 digest".to_owned(),
        Err(error) => error.to_string(),
    };
    let local = engine.inspect_image(&parsed.pinned()).await.map_err(|_| {
        format!(
            "image {reference}: the registry did not resolve the tag ({}) and the Engine has no copy",
            first_line(&registry_error)
        )
    })?;
    let digest = local
        .repo_digests
        .iter()
        .flatten()
        .filter_map(|text| ImageRef::parse(text))
        .find(|r| r.repository() == parsed.repository())
        .and_then(|r| r.digest)
        .filter(|d| Lock::is_digest(d))
        .ok_or_else(|| {
            format!(
                "image {reference}: the registry did not resolve the tag ({}) and the Engine's copy was never pulled from it, so it has no registry digest",
                first_line(&registry_error)
            )
        })?;
    let platform = platform_text(
        local.os.as_deref().unwrap_or_default(),
        local.architecture.as_deref().unwrap_or_default(),
        local.variant.as_deref(),
    );
    Ok(ResolvedImage {
        note: Some(format!(
            "image {reference}: the registry did not resolve the tag ({}); locked the digest of the Engine's copy, {digest}",
            first_line(&registry_error)
        )),
        locked: LockedImage {
            reference: reference.to_owned(),
            digest,
            platforms: vec![platform],
            manifests: Vec::new(),
            resolution: Resolution::Engine,
            span: Default::default(),
        },
    })
}

/// `os/arch[/variant]`.
fn platform_text(os: &str, architecture: &str, variant: Option<&str>) -> String {
    match variant.filter(|v| !v.is_empty()) {
        Some(variant) => format!("{os}/{architecture}/{variant}"),
        None => format!("{os}/{architecture}"),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}
