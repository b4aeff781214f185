//! The `buildkit` back end: the exported Dockerfile goes to the Engine's
//! embedded BuildKit (its built-in `dockerfile.v0` frontend), the context
//! through stages' own session, so BuildKit reads only the files COPY
//! needs; the image is exported into the Engine and its id returned.
//! BuildKit's status stream becomes stages' progress; a failed step gets
//! the same diagnostic as with the other back ends. Ctrl-C cancels the
//! solve and closes the session. A stage whose inputs did not change since
//! a build that succeeded is not solved at all (`up_to_date`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::auth::RegistryAuth;
use super::filesend::FileSend;
use super::filesync::{FileSync, SyncedDir};
use super::ids::random_id;
use super::secrets::Secrets;
use super::session::{Services, Session};
use super::solve::{SolveMessage, SolveRequest, SolveStream, cancel};
use super::solve_records::{SolveRecord, SolveRecords};
use super::status::StatusTracker;
use super::step_record::BuildKitRecording;
use super::transport::{Endpoint, TransportError};
use super::unchanged::{ContextRead, SentEntry};
use super::up_to_date::{CONTEXT_DIR, record_of_solve, solve_key, still_up_to_date};
use crate::check::{Backend as CheckedBackend, unsupported_features};
use crate::convert::export::{
    ExportOptions, ExportedDockerfile, SYNTAX_LINE, export_with_artifact_targets,
};
use crate::diagnostics::Diagnostic;
use crate::engine::backend::failure::{FailedStep, stage_outcome};
use crate::engine::backend::{ArtifactsBuild, Backend, BuildFailure, StageBuild};
use crate::engine::build_record::Recorder;
use crate::engine::client::DockerEngine;
use crate::engine::codes;
use crate::engine::interrupt::{Interrupt, Janitor};
use crate::engine::progress::{Event, ProgressSink};
use crate::engine::registry::credentials::DockerConfig;
use crate::engine::source_check::escaping_sources;

/// The Dockerfile's name in the session's `dockerfile` directory.
const DOCKERFILE: &str = "Dockerfile";

/// What the BuildKit back end needs besides the Engine.
#[derive(Debug, Clone, Default)]
pub struct BuildKitSettings {
    /// `--secret id=…,src=…`.
    pub secrets: std::collections::BTreeMap<String, std::path::PathBuf>,
    /// Registry credentials served to BuildKit.
    pub docker_config: DockerConfig,
    /// `SOURCE_DATE_EPOCH`, handed on as the build arg BuildKit 0.11 and
    /// later read (older ones, such as Engine 20.10's, ignore it).
    pub source_date_epoch: Option<u64>,
    /// Where the project's earlier solves are recorded; `None`: every
    /// stage is solved.
    pub records_dir: Option<PathBuf>,
}

/// The back end over the Engine's embedded BuildKit.
pub struct BuildKitBackend<'e> {
    engine: &'e DockerEngine,
    settings: BuildKitSettings,
    /// Context bytes BuildKit asked for, over the whole build.
    served: Arc<AtomicU64>,
    /// Where the steps are recorded (`--explain`, `stages why`).
    recorder: Option<Arc<Recorder>>,
    /// Solve requests sent, over the whole build.
    solves: AtomicU64,
    records: Option<SolveRecords>,
    /// Solves of this build, recorded once it succeeded.
    new_records: Mutex<Vec<SolveRecord>>,
}

impl<'e> BuildKitBackend<'e> {
    pub fn new(engine: &'e DockerEngine, settings: BuildKitSettings) -> Self {
        let records = settings.records_dir.as_deref().map(SolveRecords::in_dir);
        Self {
            engine,
            settings,
            served: Arc::new(AtomicU64::new(0)),
            recorder: None,
            solves: AtomicU64::new(0),
            records,
            new_records: Mutex::default(),
        }
    }

    /// Record every step in `recorder`.
    #[must_use]
    pub fn recording(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Bytes of the context (and Dockerfile) BuildKit asked for.
    pub fn bytes_served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Solves asked of BuildKit so far.
    pub fn solves(&self) -> u64 {
        self.solves.load(Ordering::Relaxed)
    }

    /// Records this build's solves, so that the next build finds the
    /// stages whose inputs did not change. Call once the build succeeded.
    pub fn record_solves(&self) -> std::io::Result<()> {
        let new = std::mem::take(
            &mut *self
                .new_records
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        match &self.records {
            Some(records) => records.add(new),
            None => Ok(()),
        }
    }

    /// The solve key of `request`, when its result can be known from it.
    async fn key_of(&self, request: &StageBuild<'_>, dockerfile: &str) -> Option<String> {
        self.records.as_ref()?;
        // The platform BuildKit builds for unless a stage names one (which
        // is in the Dockerfile).
        let platform = self.engine.platform()?;
        let secret_ids = self.settings.secrets.keys().cloned().collect();
        solve_key(self.engine, request, dockerfile, secret_ids, &platform).await
    }
}

/// Exports the Dockerfile for a build, refusing what the Engine's built-in
/// Dockerfile frontend cannot run. The `# syntax=` line is dropped: it
/// would make BuildKit pull a frontend image, and every feature the
/// export can emit for this back end is in the built-in frontend.
pub fn prepare(request: &StageBuild<'_>) -> Result<ExportedDockerfile, Vec<Diagnostic>> {
    prepare_with(request, &[]).map_err(|e| match e {
        Prepared::Refused(diagnostics) => diagnostics,
        Prepared::Inexpressible(diagnostic) => vec![diagnostic],
    })
}

/// Why a Dockerfile was not made.
pub(super) enum Prepared {
    /// What the built-in frontend cannot run, or sources outside the context.
    Refused(Vec<Diagnostic>),
    /// The exporter cannot write it as a Dockerfile.
    Inexpressible(Diagnostic),
}

/// [`prepare`], with a last `FROM scratch` stage for each artifact target
/// of `artifact_targets`, holding its artifacts.
pub(super) fn prepare_with(
    request: &StageBuild<'_>,
    artifact_targets: &[String],
) -> Result<ExportedDockerfile, Prepared> {
    let unsupported =
        unsupported_features(request.project, CheckedBackend::BuildKit, request.stages);
    if !unsupported.is_empty() {
        return Err(Prepared::Refused(unsupported));
    }
    let escaping = escaping_sources(request.project, request.stages, request.context_dir);
    if !escaping.is_empty() {
        return Err(Prepared::Refused(escaping));
    }
    let mut exported = export_with_artifact_targets(
        request.project,
        request.stages,
        artifact_targets,
        &ExportOptions {
            header: true,
            ..ExportOptions::default()
        },
    )
    .map_err(Prepared::Inexpressible)?;
    drop_syntax_line(&mut exported);
    Ok(exported)
}

/// Blanks the `# syntax=` line, keeping every other line where it was (the
/// instruction map counts lines).
fn drop_syntax_line(exported: &mut ExportedDockerfile) {
    if let Some(rest) = exported.text.strip_prefix(SYNTAX_LINE) {
        exported.text = rest.to_owned();
        exported.text.insert(0, '#');
    }
}

fn transport_failure(error: TransportError) -> BuildFailure {
    BuildFailure::Reported(vec![
        Diagnostic::error(
            codes::BUILD_FAILED,
            format!("the Engine's BuildKit cannot be used: {}", chain(&error)),
        )
        .with_help("use `--backend native`, or check that the Engine runs and offers BuildKit"),
    ])
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// How one solve ended: the image exported into the Engine (none when the
/// files went to the session), or the failed step and BuildKit's message.
pub(super) struct Solved {
    pub image: Option<String>,
    pub failure: Option<(FailedStep, String)>,
    /// What of the context BuildKit asked for (the warm skip's inputs).
    pub reads: Vec<(ContextRead, Vec<SentEntry>)>,
}

/// The build args with `SOURCE_DATE_EPOCH`, unless the build sets it itself.
fn with_source_date(
    build_args: &std::collections::BTreeMap<String, String>,
    epoch: Option<u64>,
) -> std::collections::BTreeMap<String, String> {
    let mut args = build_args.clone();
    if let Some(epoch) = epoch {
        args.entry("SOURCE_DATE_EPOCH".to_owned())
            .or_insert_with(|| epoch.to_string());
    }
    args
}

impl BuildKitBackend<'_> {
    /// Solves `request.stage` of `exported` in a session of its own; with
    /// `filesend`, the stage's files go to it rather than an image to the
    /// Engine. Ctrl-C cancels the solve and closes the session.
    pub(super) async fn solve(
        &self,
        request: &StageBuild<'_>,
        exported: &ExportedDockerfile,
        filesend: Option<FileSend>,
        progress: &mut dyn ProgressSink,
        interrupt: &Interrupt,
    ) -> Result<Solved, BuildFailure> {
        if interrupt.is_requested() {
            return Err(BuildFailure::Interrupted);
        }
        let endpoint = Endpoint::from_address(self.engine.address()).map_err(transport_failure)?;
        let api = self.engine.api_version();
        let dirs = HashMap::from([
            (
                CONTEXT_DIR.to_owned(),
                SyncedDir::Disk(request.context_dir.to_owned()),
            ),
            (
                "dockerfile".to_owned(),
                SyncedDir::File {
                    name: DOCKERFILE.to_owned(),
                    contents: bytes::Bytes::from(exported.text.clone()),
                },
            ),
        ]);
        let export_files = filesend.is_some();
        let reads = Arc::new(Mutex::new(Vec::new()));
        let services = Services {
            filesync: FileSync::new(dirs, self.served.clone()).noting_reads(reads.clone()),
            secrets: Secrets::new(self.settings.secrets.clone()),
            auth: RegistryAuth::new(self.settings.docker_config.clone()),
            filesend,
        };
        let session = Session::open(&endpoint, &api, random_id(), "stages", services)
            .await
            .map_err(transport_failure)?;
        let solve = SolveRequest {
            session: session.id.clone(),
            build_id: random_id(),
            dockerfile: DOCKERFILE.to_owned(),
            target: request.stage.to_owned(),
            build_args: with_source_date(request.build_args, self.settings.source_date_epoch),
            labels: request.labels.clone(),
            no_cache: request.no_cache,
            export_files,
        };
        let recording = self.recorder.as_ref().map(|recorder| {
            BuildKitRecording::new(Arc::clone(recorder), request.build_args, request.no_cache)
        });
        let mut tracker = StatusTracker::new(&exported.instructions).recording(recording);
        let mut image = None;
        let mut error = None;
        self.solves.fetch_add(1, Ordering::Relaxed);
        let started = tokio::select! {
            started = SolveStream::start(&endpoint, &api, &solve) => started,
            () = interrupt.requested() => return Err(BuildFailure::Interrupted),
        };
        let mut stream = started.map_err(transport_failure)?;
        loop {
            let next = tokio::select! {
                next = stream.next() => next,
                () = interrupt.requested() => {
                    cancel(&endpoint, &api, &solve.build_id).await;
                    drop(session);
                    return Err(BuildFailure::Interrupted);
                }
            };
            let Some(message) = next else { break };
            match message.map_err(transport_failure)? {
                SolveMessage::Status(status) => tracker.apply(status, progress),
                SolveMessage::ImageId(id) => image = Some(id),
                SolveMessage::Error(message) => error = Some(message),
                SolveMessage::Output(_) => {}
            }
        }
        drop(session);
        if interrupt.is_requested() {
            return Err(BuildFailure::Interrupted);
        }
        let reads = std::mem::take(&mut *reads.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(Solved {
            image,
            failure: error.map(|message| (tracker.failed_step(), message)),
            reads,
        })
    }
}

impl Backend for BuildKitBackend<'_> {
    fn name(&self) -> &'static str {
        "the Engine's BuildKit"
    }

    async fn build_stage(
        &self,
        request: &StageBuild<'_>,
        progress: &mut dyn ProgressSink,
        _janitor: &Janitor,
        interrupt: &Interrupt,
    ) -> Result<String, BuildFailure> {
        let exported = prepare(request).map_err(BuildFailure::Reported)?;
        if interrupt.is_requested() {
            return Err(BuildFailure::Interrupted);
        }
        let key = self.key_of(request, &exported.text).await;
        let mut previous = None;
        if let (Some(key), Some(records)) = (&key, &self.records)
            && !request.no_cache
        {
            previous = records.find(key);
            if let Some(record) = &previous
                && still_up_to_date(self.engine, record, request).await
            {
                progress.event(Event::UpToDate {
                    stage: request.stage,
                    stages: request.stages,
                });
                return Ok(record.image.clone());
            }
        }
        let solved = self
            .solve(request, &exported, None, progress, interrupt)
            .await?;
        let image = stage_outcome(
            request,
            &exported.instructions,
            solved.failure,
            solved.image,
            "BuildKit",
        )?;
        if let Some(key) = key {
            let noted = solved.reads;
            let context = request.context_dir.to_owned();
            let built = image.clone();
            let record = tokio::task::spawn_blocking(move || {
                record_of_solve(key, built, &context, noted, previous)
            })
            .await
            .ok()
            .flatten();
            if let Some(record) = record {
                self.new_records
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(record);
            }
        }
        Ok(image)
    }

    async fn artifacts_archive(
        &self,
        request: &ArtifactsBuild<'_>,
        progress: &mut dyn ProgressSink,
        interrupt: &Interrupt,
    ) -> Option<Result<Vec<u8>, BuildFailure>> {
        self.export_artifacts(request, progress, interrupt).await
    }
}
