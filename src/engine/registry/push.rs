//! `--push`: once every target of the build succeeded and its tags are
//! set, every tag of every image target is pushed, at once. A tag that
//! cannot be pushed is reported by itself; local tags stay as built.

use std::time::Duration;

use super::credentials::DockerConfig;
use super::errors::RegistryError;
use super::pull::config_path_text;
use super::reference::ImageRef;
use super::transfer::run_all;
use crate::engine::client::{DockerEngine, Engine, split_reference};
use crate::engine::progress::{Event, ProgressSink};

/// A tag to push and the target that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagToPush {
    pub target: String,
    pub tag: String,
}

/// A tag the registry now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedTag {
    pub target: String,
    pub tag: String,
    /// `name@sha256:…`
    pub reference: String,
}

/// What a push of several tags did.
#[derive(Debug)]
pub struct PushReport {
    pub pushed: Vec<PushedTag>,
    /// The tags that were not pushed, one error each.
    pub failed: Option<RegistryError>,
}

/// Pushes every tag in `tags`.
pub async fn push_tags(
    engine: &DockerEngine,
    tags: &[TagToPush],
    config: &DockerConfig,
    idle: Duration,
    progress: &mut dyn ProgressSink,
) -> Result<PushReport, RegistryError> {
    let mut errors = Vec::new();
    let mut pushes = Vec::new();
    for tag in tags {
        let Some(parsed) = ImageRef::parse(&tag.tag) else {
            errors.push(RegistryError::Failed {
                action: "push",
                image: tag.tag.clone(),
                message: "not a valid image reference".to_owned(),
            });
            continue;
        };
        let credentials = config.credentials_for(&parsed).await?;
        pushes.push((tag, credentials));
    }
    let names: Vec<String> = pushes.iter().map(|(t, _)| t.tag.clone()).collect();
    let ends = run_all(
        "push",
        &names,
        |index| {
            let (tag, credentials) = &pushes[index];
            engine.push(&tag.tag, credentials.as_ref())
        },
        idle,
        progress,
    )
    .await;
    let config_path = config_path_text(config);
    let mut pushed = Vec::new();
    for ((tag, _), end) in pushes.iter().zip(ends) {
        let digest = match end {
            Ok(state) => match state.digest {
                Some(digest) => Ok(digest),
                None => repo_digest(engine, &tag.tag)
                    .await
                    .ok_or_else(|| RegistryError::Failed {
                        action: "push",
                        image: tag.tag.clone(),
                        message: "the Engine did not say which digest it pushed".to_owned(),
                    }),
            },
            Err(error) => Err(RegistryError::of_transfer(
                "push",
                &tag.tag,
                error,
                &config_path,
            )),
        };
        match digest {
            Ok(digest) => {
                let repository = split_reference(&tag.tag).map_or(tag.tag.as_str(), |(r, _)| r);
                let reference = format!("{repository}@{digest}");
                progress.event(Event::Pushed {
                    target: &tag.target,
                    tag: &tag.tag,
                    reference: &reference,
                });
                pushed.push(PushedTag {
                    target: tag.target.clone(),
                    tag: tag.tag.clone(),
                    reference,
                });
            }
            Err(error) => {
                progress.event(Event::TransferFailed {
                    action: "push",
                    name: &tag.tag,
                });
                errors.push(error);
            }
        }
    }
    Ok(PushReport {
        pushed,
        failed: RegistryError::from_all(errors),
    })
}

/// The digest the Engine recorded for `tag`'s repository, from `RepoDigests`.
async fn repo_digest(engine: &DockerEngine, tag: &str) -> Option<String> {
    let (repository, _) = split_reference(tag)?;
    let details = engine.inspect_image(tag).await.ok()?;
    details
        .repo_digests?
        .into_iter()
        .find_map(|d| d.strip_prefix(&format!("{repository}@")).map(str::to_owned))
}
