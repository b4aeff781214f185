//! Artifact targets through BuildKit's `local` exporter: the exported
//! Dockerfile gets the target as a last stage (`FROM scratch AS <target>`,
//! one `COPY --from` per artifact, as `stages export-dockerfile` writes
//! it), BuildKit solves it and sends that stage's files over the session
//! (`filesend`), and they come back as one tar for the shared, sanitised
//! export. No image is made and no container is created.
//!
//! When the exporter cannot write the target as a stage (its name is not a
//! stage name or is a stage's; an artifact is a whole root), the files are
//! copied out of the stages' images as with the other back ends.

use super::backend::{BuildKitBackend, Prepared, prepare_with};
use super::filesend::FileSend;
use crate::config::model::Project;
use crate::convert::export::ExportedDockerfile;
use crate::diagnostics::Diagnostic;
use crate::engine::artifacts::missing_artifact;
use crate::engine::backend::failure::{FailedStep, step_failure};
use crate::engine::backend::{ArtifactsBuild, BuildFailure};
use crate::engine::codes;
use crate::engine::interrupt::Interrupt;
use crate::engine::progress::ProgressSink;
use crate::graph::ResolvedArtifact;

impl BuildKitBackend<'_> {
    /// The artifact target's files as a tar; `None` when it cannot be a
    /// Dockerfile stage (the copy-out then exports it).
    pub(super) async fn export_artifacts(
        &self,
        request: &ArtifactsBuild<'_>,
        progress: &mut dyn ProgressSink,
        interrupt: &Interrupt,
    ) -> Option<Result<Vec<u8>, BuildFailure>> {
        let build = &request.build;
        let exported = match prepare_with(build, &[build.stage.to_owned()]) {
            Ok(exported) => exported,
            Err(Prepared::Inexpressible(_)) => return None,
            Err(Prepared::Refused(diagnostics)) => {
                return Some(Err(BuildFailure::Reported(diagnostics)));
            }
        };
        let filesend = FileSend::default();
        let solved = self
            .solve(
                build,
                &exported,
                Some(filesend.clone()),
                progress,
                interrupt,
            )
            .await;
        Some(solved.and_then(|solved| match solved.failure {
            Some((failed, message)) => Err(BuildFailure::Reported(vec![artifact_failure(
                build.project,
                build.stage,
                request.artifacts,
                &exported,
                &failed,
                &message,
            )])),
            None => received(&filesend),
        }))
    }
}

/// The archive BuildKit sent.
fn received(filesend: &FileSend) -> Result<Vec<u8>, BuildFailure> {
    match filesend.take() {
        Some(Ok(archive)) => Ok(archive),
        Some(Err(error)) => Err(export_failure(format!(
            "the files BuildKit exported were not received: {error}"
        ))),
        None => Err(export_failure(
            "BuildKit finished without sending the artifact target's files".to_owned(),
        )),
    }
}

fn export_failure(message: String) -> BuildFailure {
    BuildFailure::Reported(vec![Diagnostic::error(codes::ARTIFACT_EXPORT, message)])
}

/// A failure in the target's own stage is an artifact its stage did not
/// make; any other is the failed step's, as for an image.
pub(super) fn artifact_failure(
    project: &Project,
    target: &str,
    artifacts: &[ResolvedArtifact],
    exported: &ExportedDockerfile,
    failed: &FailedStep,
    message: &str,
) -> Diagnostic {
    let of_target: Vec<usize> = exported
        .instructions
        .iter()
        .enumerate()
        .filter(|(_, i)| i.stage == target)
        .map(|(n, _)| n)
        .collect();
    let failed_copy = failed
        .index
        .and_then(|index| of_target.iter().position(|n| n + 1 == index))
        // The stage's first instruction is its FROM; the artifacts follow.
        .and_then(|position| position.checked_sub(1));
    let named = artifacts
        .iter()
        .position(|a| message.contains(&format!("\"{}\"", a.path)));
    let missing = failed_copy
        .or(named)
        .filter(|_| message.contains("not found"))
        .and_then(|k| artifacts.get(k));
    match missing {
        Some(artifact) => missing_artifact(project, artifact),
        None => step_failure(project, &exported.instructions, failed, message),
    }
}
