//! One native build: the stages to build, their options, and what the
//! stages share (the scratch image, cache-mount locks, a scratch directory
//! for bind mounts). Runs the stages through the scheduler and, whatever
//! happens, removes every container labelled with the build's id.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::cache_key::{BUILD_LABEL, CACHE_KEY_LABEL, CACHE_PROJECT_LABEL, cache_tag};
use super::copy::ContextFilter;
use super::engine_api::{ContainerSpec, ImageSettings, OpError, StepEngine};
use super::expand::Vars;
use super::failed_run::FailedRun;
use super::observer::BuildObserver;
use super::scheduler::{Outcome, ScheduleOptions, StageRunner, run_stages};
use super::scope::GlobalScope;
use crate::config::model::Project;
use crate::engine::build_record::Recorder;
use crate::located::Span;

/// Label of the empty image `FROM scratch` stages start from.
pub const SCRATCH_LABEL: &str = "dev.stages.scratch";

/// Options of one native build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Labels every container; unique per build.
    pub build_id: String,
    /// The project whose cache the build reads and adds to
    /// (`ProjectState::id`).
    pub project_id: String,
    pub context_dir: PathBuf,
    /// `--build-arg` values over the target's args.
    pub overrides: Vars,
    pub no_cache: bool,
    pub no_cache_stages: BTreeSet<String>,
    /// `--secret id=…,src=…`: id → host file.
    pub secrets: BTreeMap<String, PathBuf>,
    /// `SOURCE_DATE_EPOCH`: the times of the layers the build commits are
    /// clamped to it (`source_date_times`).
    pub source_date_epoch: Option<u64>,
    /// `--debug`: keep the first failed RUN for a shell in its state.
    pub debug: bool,
}

/// What a finished stage hands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageOutput {
    pub image: String,
    /// The configuration the stage meant its image to have.
    pub settings: ImageSettings,
}

/// Why a stage failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stage {stage}: {message}")]
pub struct StageFailure {
    pub stage: String,
    /// The canonical text of the failing step, if one.
    pub step: Option<String>,
    /// Where the step is in stages.toml.
    pub span: Option<Span>,
    pub message: String,
}

impl StageFailure {
    pub fn new(stage: &str, message: impl Into<String>) -> Self {
        Self {
            stage: stage.to_owned(),
            step: None,
            span: None,
            message: message.into(),
        }
    }
}

/// The native back end for one build.
pub struct NativeBuild<E: StepEngine> {
    pub(super) engine: Arc<E>,
    pub(super) project: Arc<Project>,
    pub(super) options: BuildOptions,
    pub(super) filter: Arc<dyn ContextFilter + Send + Sync>,
    pub(super) observer: Arc<dyn BuildObserver>,
    pub(super) globals: GlobalScope,
    /// The stages to build, in scheduler order.
    pub(super) stages: Vec<String>,
    scratch: tokio::sync::OnceCell<String>,
    cache_locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub(super) workspace: Arc<tempfile::TempDir>,
    /// Container creations under way; they finish even when their stage is
    /// aborted, so the clean-up that follows can see every container.
    creating: Arc<tokio::sync::watch::Sender<usize>>,
    /// Cache key → the project's image with it, read once per build: a
    /// warm rebuild costs one Engine listing, not one per step.
    cache_index: tokio::sync::OnceCell<BTreeMap<String, String>>,
    /// Keys this build found or committed: they were used now.
    used_keys: Mutex<BTreeSet<String>>,
    /// Stages an earlier target of the same `stages build` already built
    /// with the same args: their result is shared, never built again.
    built_before: BTreeMap<String, StageOutput>,
    /// Where each step's inputs are recorded, if anywhere.
    pub(super) recorder: Option<Arc<Recorder>>,
    /// What stages copy out of each other, read before the commit.
    pub(super) early: super::early_fetch::EarlyFetch,
    /// With `--debug`: the first RUN that failed.
    failed_run: Mutex<Option<FailedRun>>,
}

impl<E: StepEngine> NativeBuild<E> {
    pub fn new(
        engine: Arc<E>,
        project: Arc<Project>,
        stages: Vec<String>,
        options: BuildOptions,
        filter: Arc<dyn ContextFilter + Send + Sync>,
        observer: Arc<dyn BuildObserver>,
    ) -> Result<Self, StageFailure> {
        let globals = GlobalScope::resolve(&project.args, &options.overrides)
            .map_err(|error| StageFailure::new("(global args)", error.to_string()))?;
        let workspace = tempfile::tempdir().map_err(|error| {
            StageFailure::new("(build)", format!("temporary directory: {error}"))
        })?;
        let early = super::early_fetch::EarlyFetch::plan(&project, &stages);
        Ok(Self {
            engine,
            project,
            options,
            filter,
            observer,
            globals,
            stages,
            scratch: tokio::sync::OnceCell::new(),
            cache_locks: Mutex::new(BTreeMap::new()),
            workspace: Arc::new(workspace),
            creating: Arc::new(tokio::sync::watch::Sender::new(0)),
            cache_index: tokio::sync::OnceCell::new(),
            used_keys: Mutex::new(BTreeSet::new()),
            built_before: BTreeMap::new(),
            recorder: None,
            early,
            failed_run: Mutex::new(None),
        })
    }

    /// Hand on these stages' results instead of building them.
    #[must_use]
    pub fn sharing(mut self, built_before: BTreeMap<String, StageOutput>) -> Self {
        self.built_before = built_before;
        self
    }

    /// Record every step's inputs in `recorder`.
    #[must_use]
    pub fn recording(mut self, recorder: Option<Arc<Recorder>>) -> Self {
        self.recorder = recorder;
        self
    }

    /// The empty image, imported once and found again by label.
    pub(super) async fn scratch_image(&self) -> Result<String, OpError> {
        self.scratch
            .get_or_try_init(|| async {
                let mut found = self
                    .engine
                    .images_with_label(SCRATCH_LABEL, Some("1"))
                    .await?;
                // A commit keeps the labels of the container's image, so
                // images built from scratch carry the label too; only the
                // imported one has no step key.
                found.retain(|image| !image.labels.contains_key(CACHE_KEY_LABEL));
                // Always the same one (the oldest), so that step keys stay
                // stable when several builds imported one at the same time.
                found.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
                if let Some(image) = found.into_iter().next() {
                    return Ok(image.id);
                }
                let empty = tar::Builder::new(Vec::new())
                    .into_inner()
                    .map_err(|error| OpError::new("import", error.to_string()))?;
                let labels = BTreeMap::from([(SCRATCH_LABEL.to_owned(), "1".to_owned())]);
                self.engine.import_image(empty, &labels).await
            })
            .await
            .cloned()
    }

    /// The image an earlier build of this project committed for `key`, if
    /// it is still in the project's cache (it still has its cache tag).
    pub(super) async fn cached_image(&self, key: &str) -> Result<Option<String>, OpError> {
        let project = &self.options.project_id;
        let index = self
            .cache_index
            .get_or_try_init(|| async {
                let images = self
                    .engine
                    .images_with_label(CACHE_PROJECT_LABEL, Some(project))
                    .await?;
                Ok::<_, OpError>(
                    images
                        .into_iter()
                        .filter_map(|image| {
                            let key = image.labels.get(CACHE_KEY_LABEL)?.clone();
                            let tag = cache_tag(project, &key);
                            image.tags.contains(&tag).then_some((key, image.id))
                        })
                        .collect(),
                )
            })
            .await?;
        let found = index.get(key).cloned();
        if found.is_some() {
            self.mark_used(key);
        }
        Ok(found)
    }

    /// `key`'s entry was used by this build.
    pub(super) fn mark_used(&self, key: &str) {
        let mut used = match self.used_keys.lock() {
            Ok(used) => used,
            Err(poisoned) => poisoned.into_inner(),
        };
        used.insert(key.to_owned());
    }

    /// The cache keys this build found or committed.
    pub fn used_keys(&self) -> BTreeSet<String> {
        match self.used_keys.lock() {
            Ok(used) => used.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Create a container in a task of its own: a stage aborted half-way
    /// through the request cannot leave a container the clean-up misses.
    pub(super) async fn create_container(&self, spec: ContainerSpec) -> Result<String, OpError> {
        let engine = Arc::clone(&self.engine);
        let creating = Arc::clone(&self.creating);
        creating.send_modify(|n| *n += 1);
        let task = tokio::spawn(async move {
            let created = engine.create_container(spec).await;
            creating.send_modify(|n| *n = n.saturating_sub(1));
            created
        });
        task.await
            .map_err(|error| OpError::new("create container", error.to_string()))?
    }

    /// Wait until no container creation is under way, then remove every
    /// container of this build.
    pub async fn clean_up(&self) -> Result<usize, OpError> {
        let mut creating = self.creating.subscribe();
        let _ = creating.wait_for(|n| *n == 0).await;
        remove_build_containers(&*self.engine, &self.options.build_id).await
    }

    /// The lock serialising users of one cache mount (`sharing=locked`).
    pub(super) fn cache_lock(&self, volume: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.cache_locks.lock() {
            Ok(locks) => locks,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(locks.entry(volume.to_owned()).or_default())
    }

    /// Labels of every container this build creates.
    pub(super) fn container_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(BUILD_LABEL.to_owned(), self.options.build_id.clone())])
    }

    /// Keep `run` unless a RUN failed before it.
    pub(super) fn keep_failed_run(&self, run: FailedRun) {
        let mut kept = self
            .failed_run
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.get_or_insert(run);
    }

    /// The first RUN that failed, with `--debug`.
    pub fn take_failed_run(&self) -> Option<FailedRun> {
        self.failed_run
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    pub(super) fn no_cache_for(&self, stage: &str) -> bool {
        self.options.no_cache || self.options.no_cache_stages.contains(stage)
    }
}

impl<E: StepEngine> StageRunner for NativeBuild<E> {
    type Output = StageOutput;
    type Error = StageFailure;

    async fn run(
        self: Arc<Self>,
        stage: usize,
        inputs: Vec<(usize, StageOutput)>,
    ) -> Result<StageOutput, StageFailure> {
        let name = self
            .stages
            .get(stage)
            .cloned()
            .ok_or_else(|| StageFailure::new("(unknown)", format!("no stage #{stage}")))?;
        let inputs: BTreeMap<String, StageOutput> = inputs
            .into_iter()
            .filter_map(|(index, output)| self.stages.get(index).map(|n| (n.clone(), output)))
            .collect();
        self.observer.stage_started(&name);
        if let Some(output) = self.built_before.get(&name) {
            self.observer.stage_done(&name, &output.image);
            return Ok(output.clone());
        }
        let outcome = super::stage_exec::run_stage(&self, &name, &inputs).await;
        match &outcome {
            Ok(output) => self.observer.stage_done(&name, &output.image),
            Err(failure) => self.observer.stage_failed(&name, &failure.message),
        }
        outcome
    }
}

/// Run the build's stages (`deps[i]`: the indexes of the stages stage `i`
/// needs) and remove every container the build created, whether the
/// stages succeed, fail or the future is dropped half-way (the caller
/// then calls `remove_build_containers` itself).
pub async fn run_build<E: StepEngine>(
    build: Arc<NativeBuild<E>>,
    deps: &[Vec<usize>],
    schedule: ScheduleOptions,
) -> Vec<Outcome<StageOutput, StageFailure>> {
    let outcomes = run_stages(Arc::clone(&build), deps, schedule).await;
    // Best effort: the build command sweeps the build's label once more.
    let _ = build.clean_up().await;
    outcomes
}

/// Remove the containers labelled with `build_id`.
pub async fn remove_build_containers<E: StepEngine>(
    engine: &E,
    build_id: &str,
) -> Result<usize, OpError> {
    let containers = engine.containers_with_label(BUILD_LABEL, build_id).await?;
    let count = containers.len();
    for container in containers {
        engine.remove_container(&container).await?;
    }
    Ok(count)
}
