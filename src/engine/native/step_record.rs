//! The native back end's steps in a build record's terms: what each
//! step's key was made of, told to the build's `Recorder` once the cache
//! look-up is decided, and, for a step that missed, why (sent on to the
//! observer when the step starts).

use sha2::{Digest, Sha256};

use super::build::NativeBuild;
use super::engine_api::StepEngine;
use super::expand::expand_word;
use super::step_common::{StageState, StepRef};
use crate::config::model::{Base, Stage};
use crate::engine::build_record::{
    BaseRecord, FileRecord, Reason, StepRecord, UpstreamRecord, record::SettingsRecord,
};

/// The inputs of a step beyond what the stage state holds.
#[derive(Debug, Clone, Default)]
pub struct StepInputs {
    /// Build args the step sees (RUN only: copies read none).
    pub args: Vec<(String, String)>,
    /// The copy's words after expansion.
    pub expanded: Option<String>,
    /// Context files read (path, hex digest or `link:<target>`).
    pub files: Vec<(String, String)>,
    pub context_digest: Option<String>,
    pub upstream: Vec<UpstreamRecord>,
    /// The rest of the key's inputs, as digests.
    pub other: Vec<String>,
}

/// Tell the recorder, if any, about a step whose look-up is decided; the
/// reasons it missed (empty when `cached`, or when nothing records).
pub fn note<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    at: &StepRef,
    key: &str,
    inputs: StepInputs,
    cached: bool,
) -> Vec<Reason> {
    let Some(recorder) = &build.recorder else {
        return Vec::new();
    };
    let settings = &state.settings;
    let mut step = StepRecord {
        index: at.index,
        text: at.text.clone(),
        expanded: inputs.expanded,
        key: key.to_owned(),
        parent: state.image.clone(),
        cached,
        args: inputs.args.into_iter().collect(),
        env: settings.env.clone(),
        settings: SettingsRecord {
            workdir: settings.workdir.clone(),
            user: settings.user.clone(),
            shell: settings.shell.clone(),
            digest: hex::encode(Sha256::digest(format!("{settings:?}"))),
        },
        context_digest: inputs.context_digest,
        upstream: inputs.upstream,
        other_inputs: inputs.other,
        ..StepRecord::default()
    };
    step.set_files(
        inputs
            .files
            .into_iter()
            .map(|(path, digest)| FileRecord { path, digest })
            .collect(),
    );
    recorder.step(&state.stage, step)
}

/// Tell the observer why a step that just started did not come from the cache.
pub fn tell<E: StepEngine>(build: &NativeBuild<E>, stage: &str, at: &StepRef, reasons: &[Reason]) {
    if !reasons.is_empty() {
        build
            .observer
            .step_explained(stage, at.index, &at.text, reasons);
    }
}

/// A stage starts from `image`: note its base.
pub fn stage_started<E: StepEngine>(build: &NativeBuild<E>, stage: &Stage, image: &str) {
    let Some(recorder) = &build.recorder else {
        return;
    };
    let (name, is_stage) = match &stage.from.value {
        Base::Stage(base) => (base.clone(), true),
        Base::Image(reference) => (
            expand_word(reference, build.globals.vars()).unwrap_or_else(|_| reference.clone()),
            false,
        ),
    };
    recorder.stage_started(
        &stage.name.value,
        BaseRecord {
            name,
            stage: is_stage,
            image: image.to_owned(),
        },
        build.no_cache_for(&stage.name.value),
    );
}

/// The step at `at` failed.
pub fn failed<E: StepEngine>(build: &NativeBuild<E>, state: &StageState, at: &StepRef) {
    if let Some(recorder) = &build.recorder {
        recorder.step_failed(&state.stage, at.index);
    }
}
