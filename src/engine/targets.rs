//! Building resolved targets with any back end: image targets are built,
//! then tagged — every tag, and only once the image is complete; artifact
//! targets have their stages built, each artifact copied out of a
//! never-started container, and the files placed in the output directory
//! only when every artifact was extracted safely.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use futures_util::StreamExt;

use super::backend::{Backend, BuildFailure, StageBuild};
use super::client::{Engine, EngineError};
use super::codes;
use super::extract::{ExtractError, Staging};
use super::image_labels::{LabelInputs, image_labels};
use super::interrupt::{Interrupt, Janitor};
use super::progress::{Event, ProgressSink};
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, Label};
use crate::graph::{ProjectGraph, ResolvedArtifact, ResolvedKind, ResolvedTarget};
use crate::located::Span;

/// Everything a build of targets needs besides the Engine and back end.
#[derive(Debug, Clone)]
pub struct BuildSettings<'a> {
    pub project: &'a Project,
    pub graph: &'a ProjectGraph,
    /// The text of stages.toml (its digest labels the images).
    pub config_text: &'a str,
    /// The directory of stages.toml: outputs are relative to it.
    pub config_dir: &'a Path,
    pub context_dir: &'a Path,
    /// `--build-arg` values; they override the target's own.
    pub build_args: &'a BTreeMap<String, String>,
    pub no_cache: bool,
}

/// What one target produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetOutcome {
    Image {
        target: String,
        image: String,
        tags: Vec<String>,
    },
    Artifacts {
        target: String,
        files: Vec<PathBuf>,
    },
}

/// Builds `targets` in order, stopping at the first failure.
pub async fn build_targets<E: Engine, B: Backend>(
    engine: &E,
    backend: &B,
    settings: &BuildSettings<'_>,
    targets: &[ResolvedTarget],
    progress: &mut dyn ProgressSink,
    janitor: &Janitor,
    interrupt: &Interrupt,
) -> Result<Vec<TargetOutcome>, BuildFailure> {
    let mut outcomes = Vec::new();
    for target in targets {
        let outcome = build_target(
            engine, backend, settings, target, progress, janitor, interrupt,
        )
        .await;
        match outcome {
            Ok(outcome) => outcomes.push(outcome),
            Err(failure) => {
                progress.event(Event::Failed {
                    target: &target.name,
                });
                return Err(failure);
            }
        }
    }
    Ok(outcomes)
}

async fn build_target<E: Engine, B: Backend>(
    engine: &E,
    backend: &B,
    settings: &BuildSettings<'_>,
    target: &ResolvedTarget,
    progress: &mut dyn ProgressSink,
    janitor: &Janitor,
    interrupt: &Interrupt,
) -> Result<TargetOutcome, BuildFailure> {
    let mut args: BTreeMap<String, String> = target.args().iter().cloned().collect();
    args.extend(
        settings
            .build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let needed = settings.graph.needed_stages(&target.stages());
    progress.event(Event::TargetStarted {
        target: &target.name,
        stages: &needed,
    });
    match &target.kind {
        ResolvedKind::Image {
            stage,
            tags,
            labels,
            ..
        } => {
            let image = build_one(
                backend, settings, stage, labels, &args, progress, janitor, interrupt,
            )
            .await?;
            progress.event(Event::ImageBuilt {
                target: &target.name,
                stage,
                image: &image,
            });
            for tag in tags {
                // A tag moves only when nothing asked the build to stop.
                if interrupt.is_requested() {
                    return Err(BuildFailure::Interrupted);
                }
                engine
                    .tag(&image, tag)
                    .await
                    .map_err(|error| tag_failure(settings, target, tag, error))?;
                progress.event(Event::Tagged {
                    target: &target.name,
                    tag,
                });
            }
            Ok(TargetOutcome::Image {
                target: target.name.clone(),
                image,
                tags: tags.clone(),
            })
        }
        ResolvedKind::Artifacts {
            artifacts, output, ..
        } => {
            let output_dir = settings.config_dir.join(output);
            let staging = Staging::beside(&output_dir)
                .map_err(|e| extract_failure(settings, target, None, e))?;
            for stage in target.stages() {
                let image = build_one(
                    backend,
                    settings,
                    &stage,
                    &[],
                    &args,
                    progress,
                    janitor,
                    interrupt,
                )
                .await?;
                let of_stage: Vec<&ResolvedArtifact> =
                    artifacts.iter().filter(|a| a.stage == stage).collect();
                copy_out(
                    engine, settings, target, &image, &of_stage, &staging, janitor,
                )
                .await?;
            }
            if interrupt.is_requested() {
                return Err(BuildFailure::Interrupted);
            }
            let files = staging
                .commit()
                .map_err(|e| extract_failure(settings, target, None, e))?;
            progress.event(Event::Exported {
                target: &target.name,
                path: &output_dir,
            });
            Ok(TargetOutcome::Artifacts {
                target: target.name.clone(),
                files,
            })
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn build_one<B: Backend>(
    backend: &B,
    settings: &BuildSettings<'_>,
    stage: &str,
    target_labels: &[(String, String)],
    args: &BTreeMap<String, String>,
    progress: &mut dyn ProgressSink,
    janitor: &Janitor,
    interrupt: &Interrupt,
) -> Result<String, BuildFailure> {
    let stages = settings.graph.needed_stages(&[stage.to_owned()]);
    let labels = image_labels(&LabelInputs {
        project_name: settings.project.name.as_deref(),
        stage,
        config_text: settings.config_text,
        revision: args.get("REVISION").map(String::as_str),
        created: SystemTime::now(),
        target_labels,
    });
    let request = StageBuild {
        project: settings.project,
        stage,
        stages: &stages,
        build_args: args,
        labels,
        no_cache: settings.no_cache,
        context_dir: settings.context_dir,
    };
    backend
        .build_stage(&request, progress, janitor, interrupt)
        .await
}

/// Copies each artifact out of a container made from `image` (never
/// started) into the staging directory; the container is always removed.
async fn copy_out<E: Engine>(
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
                    settings, artifact,
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

fn artifact_span(settings: &BuildSettings<'_>, name: &str) -> Span {
    settings
        .project
        .artifact(name)
        .map_or_else(Span::default, |a| a.path.span)
}

fn missing_artifact(settings: &BuildSettings<'_>, artifact: &ResolvedArtifact) -> Diagnostic {
    Diagnostic::error(
        codes::ARTIFACT_EXPORT,
        format!(
            "artifact `{}`: `{}` does not exist in the image of stage `{}`",
            artifact.name, artifact.path, artifact.stage
        ),
    )
    .with_label(Label::primary(
        artifact_span(settings, &artifact.name),
        "nothing at this path after the stage's last step",
    ))
    .with_help("make a step of the stage write this path, or fix the path")
}

fn extract_failure(
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
    if matches!(error, ExtractError::Refused { .. }) {
        diagnostic = diagnostic.with_help(
            "the stage produced an entry that would land outside the output directory; \
             nothing was written there",
        );
    }
    BuildFailure::Reported(vec![diagnostic])
}

fn tag_failure(
    settings: &BuildSettings<'_>,
    target: &ResolvedTarget,
    tag: &str,
    error: EngineError,
) -> BuildFailure {
    let span = settings
        .project
        .target(&target.name)
        .and_then(|t| match &t.kind {
            crate::config::model::TargetKind::Image { tags, .. } => {
                tags.iter().find(|t| t.value == tag).map(|t| t.span)
            }
            crate::config::model::TargetKind::Artifacts { .. } => None,
        })
        .unwrap_or_default();
    let mut message = format!("target `{}`: {error}", target.name);
    if let Some(cause) = std::error::Error::source(&error) {
        message.push_str(&format!(": {cause}"));
    }
    BuildFailure::Reported(vec![
        Diagnostic::error(codes::TAG_FAILED, message)
            .with_label(Label::primary(span, "this tag"))
            .with_help("use a valid image reference: name[:tag], lowercase"),
    ])
}
