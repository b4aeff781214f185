//! The native back end behind the engine layer's `Backend` trait: a stage
//! and every stage it needs are run by the scheduler (independent stages at
//! once, up to `--jobs`), step results come from the cache when their key
//! matches, a stage an earlier target of the same build needed is not built
//! again, and an image target's image is written from its stage's last
//! cache entry with exactly the configuration asked for (`target_image`).
//! Progress events cross from the stage tasks over a channel; a stop
//! request drops the build and its containers go by label.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::build::{BuildOptions, NativeBuild, StageFailure, StageOutput, run_build};
use super::copy::ContextFilter;
use super::engine_api::StepEngine;
use super::failed_run::FailedRun;
use super::limits::native_limits;
use super::observer::BuildObserver;
use super::scheduler::{Outcome, ScheduleOptions};
use super::stage_plan::stage_plan;
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::backend::{Backend, BuildFailure, StageBuild};
use crate::engine::build_record::{Reason, Recorder};
use crate::engine::client::DockerEngine;
use crate::engine::codes;
use crate::engine::context::read_dockerignore;
use crate::engine::dockerignore::DockerIgnore;
use crate::engine::interrupt::{Interrupt, Janitor};
use crate::engine::progress::{Event, ProgressSink};
use crate::graph::ProjectGraph;

impl ContextFilter for DockerIgnore {
    fn excluded(&self, path: &str) -> bool {
        self.is_excluded(path)
    }

    fn may_reinclude_under(&self, dir: &str) -> bool {
        DockerIgnore::may_reinclude_under(self, dir)
    }
}

/// Options of the native back end beyond one stage's request.
#[derive(Debug, Clone, Default)]
pub struct NativeSettings {
    /// The project whose step cache the build uses (`ProjectState::id`).
    pub project_id: String,
    pub jobs: Option<usize>,
    pub keep_going: bool,
    pub no_cache_stages: Vec<String>,
    pub secrets: BTreeMap<String, PathBuf>,
    /// `SOURCE_DATE_EPOCH` (`stages build --reproducible`).
    pub source_date_epoch: Option<u64>,
    /// `--debug`: keep the first failed RUN (`take_failed_run`).
    pub debug: bool,
}

pub struct NativeBackend<'a> {
    engine: &'a DockerEngine,
    settings: NativeSettings,
    /// The cache keys the builds so far found or committed.
    used_keys: std::sync::Mutex<BTreeSet<String>>,
    /// What the stages built so far gave, by build args: a stage several
    /// targets need is built once per `stages build`.
    built: std::sync::Mutex<BTreeMap<BTreeMap<String, String>, BTreeMap<String, StageOutput>>>,
    /// Where the steps' inputs are recorded (`--explain`, `stages why`).
    recorder: Option<Arc<Recorder>>,
    /// With `--debug`: the first RUN that failed.
    failed_run: std::sync::Mutex<Option<FailedRun>>,
}

impl<'a> NativeBackend<'a> {
    pub fn new(engine: &'a DockerEngine, settings: NativeSettings) -> Self {
        Self {
            engine,
            settings,
            used_keys: std::sync::Mutex::default(),
            built: std::sync::Mutex::default(),
            recorder: None,
            failed_run: std::sync::Mutex::default(),
        }
    }

    /// The first RUN that failed, kept with `--debug`.
    pub fn take_failed_run(&self) -> Option<FailedRun> {
        self.failed_run
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    fn keep_failed_run(&self, native: &NativeBuild<DockerEngine>) {
        if let Some(run) = native.take_failed_run() {
            self.failed_run
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get_or_insert(run);
        }
    }

    /// Record every step's inputs in `recorder`.
    #[must_use]
    pub fn recording(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    fn built_with(&self, args: &BTreeMap<String, String>) -> BTreeMap<String, StageOutput> {
        let built = self
            .built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        built.get(args).cloned().unwrap_or_default()
    }

    fn note_built(&self, args: &BTreeMap<String, String>, outputs: BTreeMap<String, StageOutput>) {
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        built.entry(args.clone()).or_default().extend(outputs);
    }

    /// The cache keys the builds so far found or committed.
    pub fn used_keys(&self) -> BTreeSet<String> {
        self.used_keys
            .lock()
            .map(|used| used.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn note_used(&self, keys: BTreeSet<String>) {
        let mut used = self
            .used_keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        used.extend(keys);
    }
}

/// A progress event owned, to cross from the stage tasks.
enum Message {
    Step {
        stage: String,
        index: usize,
        total: usize,
        text: String,
    },
    Cached(String),
    Explained {
        stage: String,
        text: String,
        reasons: Vec<Reason>,
    },
    Output(String, String),
    StageStarted(String),
    StageDone {
        stage: String,
        cached: bool,
        image: String,
    },
}

struct ChannelObserver {
    sender: mpsc::UnboundedSender<Message>,
    totals: BTreeMap<String, usize>,
    /// Per stage: steps started, steps found in the cache.
    counts: std::sync::Mutex<BTreeMap<String, (usize, usize)>>,
}

impl ChannelObserver {
    fn count(&self, stage: &str, started: usize, cached: usize) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = counts.entry(stage.to_owned()).or_default();
        entry.0 += started;
        entry.1 += cached;
    }
}

impl BuildObserver for ChannelObserver {
    fn stage_started(&self, stage: &str) {
        let _ = self.sender.send(Message::StageStarted(stage.to_owned()));
    }

    fn step_started(&self, stage: &str, index: usize, text: &str) {
        self.count(stage, 1, 0);
        let total = self.totals.get(stage).copied().unwrap_or(index + 1);
        let _ = self.sender.send(Message::Step {
            stage: stage.to_owned(),
            index: index + 1,
            total: total.max(index + 1),
            text: text.to_owned(),
        });
    }

    fn step_cached(&self, stage: &str, _index: usize) {
        self.count(stage, 0, 1);
        let _ = self.sender.send(Message::Cached(stage.to_owned()));
    }

    fn step_explained(&self, stage: &str, _index: usize, text: &str, reasons: &[Reason]) {
        let _ = self.sender.send(Message::Explained {
            stage: stage.to_owned(),
            text: text.to_owned(),
            reasons: reasons.to_vec(),
        });
    }

    fn stage_done(&self, stage: &str, image: &str) {
        let (started, cached) = self
            .counts
            .lock()
            .map(|counts| counts.get(stage).copied().unwrap_or_default())
            .unwrap_or_default();
        let _ = self.sender.send(Message::StageDone {
            stage: stage.to_owned(),
            cached: started == cached,
            image: image.to_owned(),
        });
    }

    fn output(&self, stage: &str, chunk: &[u8]) {
        for line in String::from_utf8_lossy(chunk).lines() {
            let _ = self
                .sender
                .send(Message::Output(stage.to_owned(), line.to_owned()));
        }
    }
}

fn forward(progress: &mut dyn ProgressSink, message: Message) {
    match message {
        Message::Step {
            stage,
            index,
            total,
            text,
        } => progress.event(Event::Step {
            stage: &stage,
            index,
            total,
            text: &text,
        }),
        Message::Cached(stage) => progress.event(Event::Cached { stage: &stage }),
        Message::Explained {
            stage,
            text,
            reasons,
        } => progress.event(Event::Explained {
            stage: &stage,
            text: &text,
            reasons: &reasons,
        }),
        Message::StageStarted(stage) => progress.event(Event::StageStarted { stage: &stage }),
        Message::Output(stage, line) => progress.event(Event::Output {
            stage: &stage,
            line: &line,
        }),
        Message::StageDone {
            stage,
            cached,
            image,
        } => {
            progress.event(Event::StageDone {
                stage: &stage,
                cached,
            });
            progress.event(Event::StageImage {
                stage: &stage,
                image: &image,
            });
        }
    }
}

/// A failed stage as a diagnostic on its step.
pub fn failure_diagnostic(failure: &StageFailure) -> Diagnostic {
    let what = match &failure.step {
        Some(step) => format!(
            "stage `{}`: `{step}` failed: {}",
            failure.stage, failure.message
        ),
        None => format!("stage `{}` failed: {}", failure.stage, failure.message),
    };
    let mut diagnostic = Diagnostic::error(codes::STEP_FAILED, what)
        .with_help("fix the step, then build again: the steps before it come from the cache");
    if let Some(span) = failure.span {
        diagnostic = diagnostic.with_label(Label::primary(span, "this step failed"));
    }
    diagnostic
}

impl Backend for NativeBackend<'_> {
    fn name(&self) -> &'static str {
        "the native builder"
    }

    async fn build_stage(
        &self,
        request: &StageBuild<'_>,
        progress: &mut dyn ProgressSink,
        janitor: &Janitor,
        interrupt: &Interrupt,
    ) -> Result<String, BuildFailure> {
        let limits = native_limits(request.project, request.stages, &self.settings.secrets);
        if limits.iter().any(Diagnostic::is_error) {
            return Err(BuildFailure::Reported(limits));
        }
        let (filter, _) = read_dockerignore(request.context_dir)?;
        let graph = ProjectGraph::new(request.project);
        let (stages, deps) = stage_plan(&graph, &[request.stage.to_owned()]);
        let totals = stages
            .iter()
            .filter_map(|s| {
                request
                    .project
                    .stage(s)
                    .map(|st| (s.clone(), st.steps.len() + 1))
            })
            .collect();
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let options = BuildOptions {
            build_id: janitor.build_id().to_owned(),
            project_id: self.settings.project_id.clone(),
            context_dir: request.context_dir.to_owned(),
            overrides: request.build_args.clone(),
            no_cache: request.no_cache,
            no_cache_stages: self.settings.no_cache_stages.iter().cloned().collect(),
            secrets: self.settings.secrets.clone(),
            source_date_epoch: self.settings.source_date_epoch,
            debug: self.settings.debug,
        };
        let engine = Arc::new(self.engine.clone());
        let native = NativeBuild::new(
            Arc::clone(&engine),
            Arc::new(request.project.clone()),
            stages.clone(),
            options,
            Arc::new(filter),
            Arc::new(ChannelObserver {
                sender,
                totals,
                counts: std::sync::Mutex::default(),
            }),
        )
        .map_err(|failure| BuildFailure::Reported(vec![failure_diagnostic(&failure)]))?
        .sharing(self.built_with(request.build_args))
        .recording(self.recorder.clone());
        let schedule = ScheduleOptions::new(self.settings.jobs, self.settings.keep_going);
        let native = Arc::new(native);
        let mut run = Box::pin(run_build(Arc::clone(&native), &deps, schedule));
        let outcomes = loop {
            tokio::select! {
                outcomes = &mut run => break outcomes,
                Some(message) = receiver.recv() => forward(progress, message),
                () = interrupt.requested() => {
                    // Abort the stages, then remove what they created,
                    // including containers whose creation was under way.
                    drop(run);
                    let _ = native.clean_up().await;
                    self.note_used(native.used_keys());
                    return Err(BuildFailure::Interrupted);
                }
            }
        };
        self.note_used(native.used_keys());
        self.keep_failed_run(&native);
        while let Ok(message) = receiver.try_recv() {
            forward(progress, message);
        }
        let failures: Vec<Diagnostic> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Failed(failure) => Some(failure_diagnostic(failure)),
                _ => None,
            })
            .collect();
        if !failures.is_empty() {
            return Err(BuildFailure::Reported(failures));
        }
        let done: BTreeMap<String, StageOutput> = stages
            .iter()
            .zip(&outcomes)
            .filter_map(|(stage, outcome)| match outcome {
                Outcome::Done(output) => Some((stage.clone(), output.clone())),
                _ => None,
            })
            .collect();
        self.note_built(request.build_args, done);
        let position = stages.iter().position(|s| s == request.stage);
        let Some(Outcome::Done(output)) = position.and_then(|i| outcomes.get(i)) else {
            return Err(BuildFailure::Reported(vec![Diagnostic::error(
                codes::BUILD_FAILED,
                format!("stage `{}` was not built", request.stage),
            )]));
        };
        if !request.image_target {
            return Ok(output.image.clone());
        }
        // The target's labels come last and win, as `docker build --label`'s do.
        let mut settings = output.settings.clone();
        settings.labels.extend(request.labels.clone());
        self.engine
            .configured_image(&output.image, &settings, self.settings.source_date_epoch)
            .await
            .map_err(|error| {
                BuildFailure::Reported(vec![Diagnostic::error(
                    codes::BUILD_FAILED,
                    format!("stage `{}`: the target's image: {error}", request.stage),
                )])
            })
    }
}
