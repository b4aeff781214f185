//! Artifact targets on a remote builder: the exported Dockerfile gets the
//! target as a last `FROM scratch` stage holding its artifacts (as on the
//! Engine's BuildKit), the builder's `local` exporter sends that stage's
//! files over the session's file send, and they are placed in the output
//! directory by the same checked, staged export as on the Engine: nothing
//! outside the directory, links checked, and nothing written there until
//! every target of the build succeeded.

use std::collections::BTreeMap;
use std::path::Path;

use super::job::{Job, without_target_platforms};
use super::solve::Publish;
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::artifacts::clashing_artifacts;
use crate::engine::backend::StageBuild;
use crate::engine::buildkit::backend::{Prepared, prepare_with};
use crate::engine::codes;
use crate::engine::extract::{ExtractError, Staging};
use crate::engine::output_dir::OutputDir;
use crate::graph::{ProjectGraph, ResolvedArtifact, ResolvedKind, ResolvedTarget};

/// Where an artifact target's files go.
#[derive(Debug, Clone)]
pub struct FilesTarget {
    pub output: OutputDir,
    pub artifacts: Vec<ResolvedArtifact>,
}

/// Plans the artifact target `target`, whose files go to `output`.
pub fn plan_files_job(
    project: &Project,
    target: &ResolvedTarget,
    args: BTreeMap<String, String>,
    context_dir: &Path,
    output: Option<OutputDir>,
) -> Result<Job, Vec<Diagnostic>> {
    let ResolvedKind::Artifacts {
        artifacts,
        platforms,
        ..
    } = &target.kind
    else {
        return Err(Vec::new());
    };
    let Some(output) = output else {
        return Err(vec![Diagnostic::error(
            codes::ARTIFACT_EXPORT,
            format!("target `{}` has no output directory", target.name),
        )]);
    };
    if let Some(clash) = clashing_artifacts(project, artifacts) {
        return Err(vec![clash]);
    }
    let overrides: Vec<(String, String)> =
        args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let project = project.with_bases_for(&overrides);
    let graph = ProjectGraph::new(&project);
    let stages = graph.needed_stages(&target.stages());
    let without_platforms = without_target_platforms(&project);
    let request = StageBuild {
        project: &without_platforms,
        stage: &target.name,
        stages: &stages,
        build_args: &args,
        image_target: false,
        tags: &[],
        labels: BTreeMap::new(),
        no_cache: false,
        context_dir,
    };
    let exported = match prepare_with(&request, std::slice::from_ref(&target.name)) {
        Ok(exported) => exported,
        Err(Prepared::Refused(diagnostics)) => return Err(diagnostics),
        Err(Prepared::Inexpressible(diagnostic)) => {
            return Err(vec![inexpressible(&project, &target.name, diagnostic)]);
        }
    };
    let runs_commands = super::job::runs_commands(&project, &stages);
    Ok(Job {
        runs_commands,
        target: target.name.clone(),
        stage: target.name.clone(),
        project,
        exported,
        args,
        labels: BTreeMap::new(),
        platforms: platforms.clone(),
        tags: Vec::new(),
        publish: Publish::Files,
        files: Some(FilesTarget {
            output,
            artifacts: artifacts.clone(),
        }),
        part: None,
    })
}

/// The builder's exporter writes the target as a Dockerfile stage; one it
/// cannot write that way is refused (the Engine copies it out instead).
fn inexpressible(project: &Project, name: &str, why: Diagnostic) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        codes::UNSUPPORTED_FEATURE,
        format!(
            "target `{name}`: its files cannot be exported by a remote builder: {}",
            why.message
        ),
    )
    .with_help("build it without --builder (on the Engine), or give the target a name that can be a Dockerfile stage and artifacts below the root");
    match project.target(name) {
        Some(target) => diagnostic.with_label(Label::primary(target.name.span, "this target")),
        None => diagnostic,
    }
}

/// Unpacks the archives a builder sent into a staging directory for
/// `files`' output directory, checking every entry; nothing reaches the
/// output directory until [`Staging::commit`].
pub fn stage_files(files: &FilesTarget, archives: &[Vec<u8>]) -> Result<Staging, String> {
    let staging = if files.output.stage_within {
        Staging::within(&files.output.path)
    } else {
        Staging::beside(&files.output.path)
    }
    .map_err(|e| describe(&e))?;
    for archive in archives {
        staging.unpack(&archive[..]).map_err(|e| describe(&e))?;
    }
    Ok(staging)
}

/// An export failure with its causes.
pub fn describe(error: &ExtractError) -> String {
    let mut text = format!("cannot export to the host: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    if matches!(
        error,
        ExtractError::Refused { .. } | ExtractError::Redirected { .. }
    ) {
        text.push_str("; nothing was written to the output directory");
    }
    text
}
