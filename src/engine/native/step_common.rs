//! What every filesystem step does the same way: the state a stage carries
//! from step to step, the cache look-up, the commit with the cache labels,
//! and containers that are created but never started.

use std::collections::BTreeMap;

use super::build::{NativeBuild, StageFailure};
use super::cache_key::{
    BUILD_LABEL, CACHE_KEY_LABEL, CACHE_PROJECT_LABEL, CACHE_STAGE_LABEL, CACHE_STEP_LABEL,
    StepKeyInput, cache_tag,
};
use super::engine_api::{ContainerSpec, ImageSettings, OpError, StepEngine};
use super::scope::StageScope;
use super::source_date_times::clamp_layer_times;
use crate::located::Span;

/// Longest step text kept in the `dev.stages.step` label.
const STEP_LABEL_MAX: usize = 200;

/// A stage between two steps.
#[derive(Debug, Clone)]
pub struct StageState {
    pub stage: String,
    /// The image the next step starts from.
    pub image: String,
    /// The configuration the image should have after the steps so far.
    pub settings: ImageSettings,
    /// The configuration `image` was committed with.
    pub committed: ImageSettings,
    pub scope: StageScope,
    /// Every WORKDIR set in the stage (Docker creates them).
    pub workdirs: Vec<String>,
    pub no_cache: bool,
    /// `SOURCE_DATE_EPOCH`: a layer made at one epoch is not another's.
    pub source_date_epoch: Option<u64>,
    /// Some CMD of the stage sets the command: an ENTRYPOINT of the stage
    /// then keeps it, where it otherwise drops the inherited one (Docker's
    /// builders decide so for the whole stage, whatever the order).
    pub sets_cmd: bool,
}

/// The step being executed, for error reports.
#[derive(Debug, Clone)]
pub struct StepRef {
    pub index: usize,
    pub text: String,
    pub span: Span,
}

impl StepRef {
    pub fn fail(&self, state: &StageState, message: impl std::fmt::Display) -> StageFailure {
        StageFailure {
            stage: state.stage.clone(),
            step: Some(self.text.clone()),
            span: Some(self.span),
            message: message.to_string(),
        }
    }
}

impl StageState {
    /// The key of a step from this state, with the step's own inputs.
    pub fn key(&self, text: &str, args: Vec<(String, String)>, inputs: Vec<String>) -> String {
        let mut all_inputs = vec![format!("{:?}", self.settings)];
        if let Some(epoch) = self.source_date_epoch {
            all_inputs.push(format!("SOURCE_DATE_EPOCH={epoch}"));
        }
        all_inputs.extend(inputs);
        StepKeyInput {
            parent_image: self.image.clone(),
            step_text: text.to_owned(),
            args,
            env: self.settings.env.clone(),
            inputs: all_inputs,
        }
        .key()
    }
}

/// The image a previous build committed for `key`, if any.
pub async fn cached<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    key: &str,
) -> Result<Option<String>, OpError> {
    if state.no_cache {
        return Ok(None);
    }
    build.cached_image(key).await
}

/// Commit `container` with the state's settings and the cache labels, and
/// tag the image into the project's cache. Under `SOURCE_DATE_EPOCH` the
/// times of what the container changed (but under `mount_targets`) are
/// clamped first.
///
/// The Engine copies the container's labels into the image; the build
/// label is blanked so that a container someone later runs from the image
/// never looks like one of a build's own.
pub async fn commit<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    container: &str,
    key: &str,
    text: &str,
    mount_targets: &[String],
) -> Result<String, OpError> {
    if let Some(epoch) = build.options.source_date_epoch {
        clamp_layer_times(&*build.engine, container, epoch, mount_targets).await?;
    }
    let mut settings = state.settings.clone();
    settings
        .labels
        .insert(CACHE_KEY_LABEL.to_owned(), key.to_owned());
    settings
        .labels
        .insert(CACHE_STAGE_LABEL.to_owned(), state.stage.clone());
    let short: String = text.chars().take(STEP_LABEL_MAX).collect();
    settings.labels.insert(CACHE_STEP_LABEL.to_owned(), short);
    settings.labels.insert(
        CACHE_PROJECT_LABEL.to_owned(),
        build.options.project_id.clone(),
    );
    settings
        .labels
        .insert(BUILD_LABEL.to_owned(), String::new());
    let image = build.engine.commit(container, &settings).await?;
    build
        .engine
        .tag_image(&image, &cache_tag(&build.options.project_id, key))
        .await?;
    build.mark_used(key);
    Ok(image)
}

/// A container of `image` that is never started (to upload into, download
/// from, or commit). The Engine wants a command even so: it goes in the
/// entrypoint, which every commit overrides, so it never reaches an image.
pub fn idle_container(image: &str, labels: BTreeMap<String, String>) -> ContainerSpec {
    ContainerSpec {
        image: image.to_owned(),
        entrypoint: Some(vec!["stages-never-started".to_owned()]),
        cmd: None,
        labels,
        network_mode: Some("none".to_owned()),
        ..ContainerSpec::default()
    }
}

/// Run `work` with a container, then remove the container whatever
/// happened (removal errors come second to the work's own).
pub async fn with_container<E, T, F, Fut>(
    build: &NativeBuild<E>,
    spec: ContainerSpec,
    work: F,
) -> Result<T, OpError>
where
    E: StepEngine,
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, OpError>>,
{
    let container = build.create_container(spec).await?;
    let outcome = work(container.clone()).await;
    let removed = build.engine.remove_container(&container).await;
    let value = outcome?;
    removed?;
    Ok(value)
}
