//! Build back ends: each turns one stage (and the stages it needs) into an
//! image on the Engine. Tagging and artifact export are shared
//! (`crate::engine::targets`), so a back end only has to build.
//!
//! `dockerfile` feeds the exported Dockerfile to the Engine's classic
//! builder. The native back end (stages' own scheduler over Engine
//! primitives) plugs in as a second implementation of [`Backend`].

pub mod dockerfile;
pub mod empty_stage;
pub mod failure;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

use super::client::EngineError;
use super::context::ContextError;
use super::interrupt::{Interrupt, Janitor};
use super::progress::ProgressSink;
use crate::config::model::Project;
use crate::diagnostics::Diagnostic;
use crate::graph::ResolvedArtifact;

/// One stage to build.
#[derive(Debug, Clone)]
pub struct StageBuild<'a> {
    pub project: &'a Project,
    /// The stage whose image is wanted.
    pub stage: &'a str,
    /// Every stage it needs, itself last, in dependency order.
    pub stages: &'a [String],
    pub build_args: &'a BTreeMap<String, String>,
    /// An image target's image (else the stage is built for its files).
    pub image_target: bool,
    /// The image target's tags (none for a stage built for its files).
    pub tags: &'a [String],
    /// The target's labels, the only ones added to the stage's: bookkeeping
    /// labels never reach a user's image.
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    /// The build context directory.
    pub context_dir: &'a Path,
}

/// An artifact target for a back end that exports its files itself.
#[derive(Debug, Clone)]
pub struct ArtifactsBuild<'a> {
    /// `stage` is the target's name; `stages` every stage its artifacts need.
    pub build: StageBuild<'a>,
    pub artifacts: &'a [ResolvedArtifact],
}

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildFailure {
    /// Problems reported as diagnostics on stages.toml (exit 1).
    #[error("the build failed")]
    Reported(Vec<Diagnostic>),
    /// The Engine could not do what was asked.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The build context could not be read.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// Stopped on request (Ctrl-C).
    #[error("the build was interrupted")]
    Interrupted,
}

/// A way of building a stage's image.
pub trait Backend {
    /// For messages: "the classic Dockerfile builder".
    fn name(&self) -> &'static str;

    /// Builds `request.stage`; returns the image id. Containers it creates
    /// are reported to `janitor` so an interrupted build can remove them;
    /// when `interrupt` fires it stops as soon as every container it made
    /// is known, with `BuildFailure::Interrupted`.
    fn build_stage(
        &self,
        request: &StageBuild<'_>,
        progress: &mut dyn ProgressSink,
        janitor: &Janitor,
        interrupt: &Interrupt,
    ) -> impl Future<Output = Result<String, BuildFailure>>;

    /// Builds what an artifact target needs and returns its files as one
    /// tar, each artifact under the last component of its path (where the
    /// shared copy-out would place it); `None` leaves the export to that
    /// copy-out, from the images of the artifacts' stages.
    fn artifacts_archive(
        &self,
        request: &ArtifactsBuild<'_>,
        progress: &mut dyn ProgressSink,
        interrupt: &Interrupt,
    ) -> impl Future<Output = Option<Result<Vec<u8>, BuildFailure>>> {
        let _ = (request, progress, interrupt);
        async { None }
    }
}
