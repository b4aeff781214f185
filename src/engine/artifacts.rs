//! Artifact targets' export: each artifact is copied out of a container
//! made from its stage's image (never started, always removed) into a
//! staging directory, and checked on the way (`extract`). Artifacts land
//! in the output directory under the last component of their path, like
//! `docker cp`, so two that share it are an error.

use futures_util::StreamExt;
use std::collections::BTreeMap;

use super::backend::BuildFailure;
use super::client::Engine;
use super::codes;
use super::extract::{ExtractError, Staging};
use super::interrupt::Janitor;
use super::targets::BuildSettings;
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, Label};
use crate::graph::{ResolvedArtifact, ResolvedTarget};
use crate::located::Span;

/// Copies each artifact out of a container made from `image` (never
/// started) into the staging directory; the container is always removed.
pub(super) async fn copy_out<E: Engine>(
    engine: &E,
    settings: &BuildSettings<'_>,
    target: &ResolvedTarget,
    image: &str,
    artifacts: &[&ResolvedArtifact],
    staging: &Staging,
    janitor: &Janitor,
) -> Result<(), BuildFailure> {
    let labels: BTreeMap<String, String> = [janitor.label()].into_iter().collect();
    let container = engine.create_container(image, &labels).await?;
    janitor.track(&container);
    let mut result = Ok(());
    for artifact in artifacts {
        result = copy_one(engine, settings, target, &container, artifact, staging).await;
        if result.is_err() {
            break;
        }
    }
    let removed = engine.remove_container(&container).await;
    if removed.is_ok() {
        janitor.forget(&container);
    }
    result?;
    removed?;
    Ok(())
}

async fn copy_one<E: Engine>(
    engine: &E,
    settings: &BuildSettings<'_>,
    target: &ResolvedTarget,
    container: &str,
    artifact: &ResolvedArtifact,
    staging: &Staging,
) -> Result<(), BuildFailure> {
    let mut archive = Vec::new();
    let mut stream = engine.download(container, &artifact.path);
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => archive.extend_from_slice(&bytes),
            Err(error) if error.is_not_found() => {
                return Err(BuildFailure::Reported(vec![missing_artifact(
                    settings.project,
                    artifact,
                )]));
            }
            Err(error) => return Err(error.into()),
        }
    }
    staging
        .unpack(&archive[..])
        .map(|_| ())
        .map_err(|e| extract_failure(settings, target, Some(artifact), e))
}

/// Two artifacts that would land under the same name in the output
/// directory (each keeps the last component of its path).
pub(crate) fn clashing_artifacts(
    project: &Project,
    artifacts: &[ResolvedArtifact],
) -> Option<Diagnostic> {
    let landing = |a: &ResolvedArtifact| {
        a.path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned()
    };
    for (i, first) in artifacts.iter().enumerate() {
        if let Some(second) = artifacts[i + 1..]
            .iter()
            .find(|b| landing(b) == landing(first))
        {
            return Some(
                Diagnostic::error(
                    codes::ARTIFACT_EXPORT,
                    format!(
                        "artifacts `{}` and `{}` would both be written to `{}` in the output directory",
                        first.name,
                        second.name,
                        landing(first)
                    ),
                )
                .with_label(Label::primary(span_in(project, &second.name), "this path"))
                .with_label(Label::secondary(span_in(project, &first.name), "ends with the same name as this one"))
                .with_help("export them with separate artifact targets, or give the paths different last components"),
            );
        }
    }
    None
}

fn artifact_span(settings: &BuildSettings<'_>, name: &str) -> Span {
    span_in(settings.project, name)
}

fn span_in(project: &Project, name: &str) -> Span {
    project
        .artifact(name)
        .map_or_else(Span::default, |a| a.path.span)
}

/// An artifact whose path is not in its stage's image (or file system).
pub(crate) fn missing_artifact(project: &Project, artifact: &ResolvedArtifact) -> Diagnostic {
    Diagnostic::error(
        codes::ARTIFACT_EXPORT,
        format!(
            "artifact `{}`: `{}` does not exist in the image of stage `{}`",
            artifact.name, artifact.path, artifact.stage
        ),
    )
    .with_label(Label::primary(
        span_in(project, &artifact.name),
        "nothing at this path after the stage's last step",
    ))
    .with_help("make a step of the stage write this path, or fix the path")
}

pub(super) fn extract_failure(
    settings: &BuildSettings<'_>,
    target: &ResolvedTarget,
    artifact: Option<&ResolvedArtifact>,
    error: ExtractError,
) -> BuildFailure {
    let mut message = format!(
        "target `{}`: cannot export to the host: {error}",
        target.name
    );
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    let mut diagnostic = Diagnostic::error(codes::ARTIFACT_EXPORT, message);
    if let Some(artifact) = artifact {
        diagnostic = diagnostic.with_label(Label::primary(
            artifact_span(settings, &artifact.name),
            format!("the archive of artifact `{}` was refused", artifact.name),
        ));
    }
    match error {
        ExtractError::Refused { .. } => {
            diagnostic = diagnostic.with_help(
                "the stage produced an entry that would land outside the output directory; \
                 nothing was written there",
            );
        }
        ExtractError::Redirected { .. } => {
            diagnostic = diagnostic.with_help(
                "remove that link from the output directory, or export to another one; \
                 nothing was written there",
            );
        }
        _ => {}
    }
    BuildFailure::Reported(vec![diagnostic])
}
