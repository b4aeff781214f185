//! A build's record as its stages run (several at once): each step is
//! noted when its cache look-up is decided, and a step that missed is
//! explained then, against the earlier build's record, so progress can
//! show the reason while the step runs.

use std::sync::Mutex;

use super::explain::{explain, explain_unkeyed};
use super::reason::Reason;
use super::record::{BaseRecord, BuildRecord, RECORD_VERSION, StageRecord, StepRecord};

/// The record a build is writing, and the one it compares with.
#[derive(Debug)]
pub struct Recorder {
    previous: Option<BuildRecord>,
    current: Mutex<BuildRecord>,
}

impl Recorder {
    /// A build by `backend` of `targets`; `dockerignore` is the digest of
    /// the context's `.dockerignore`.
    pub fn new(
        previous: Option<BuildRecord>,
        backend: &str,
        targets: Vec<String>,
        no_cache: bool,
        dockerignore: Option<String>,
    ) -> Self {
        Self {
            previous,
            current: Mutex::new(BuildRecord {
                version: RECORD_VERSION,
                finished: 0,
                backend: backend.to_owned(),
                targets,
                no_cache,
                dockerignore,
                stages: Default::default(),
            }),
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, BuildRecord> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `stage` starts (again) from `base`.
    pub fn stage_started(&self, stage: &str, base: BaseRecord, no_cache: bool) {
        self.current().stages.insert(
            stage.to_owned(),
            StageRecord {
                base,
                no_cache,
                built: true,
                steps: Vec::new(),
            },
        );
    }

    /// Note a step whose cache look-up is decided; for one that missed,
    /// the reasons (also kept in the record).
    pub fn step(&self, stage: &str, mut step: StepRecord) -> Vec<Reason> {
        let mut current = self.current();
        let reasons = if step.cached {
            Vec::new()
        } else {
            explain(self.previous.as_ref(), &current, stage, &step)
        };
        step.reasons = reasons.iter().map(ToString::to_string).collect();
        if let Some(record) = current.stages.get_mut(stage) {
            record.steps.push(step);
        }
        reasons
    }

    /// Whether this build recorded `stage` already (BuildKit solves a
    /// stage shared by two targets twice; the second solve is all cache).
    pub fn has_stage(&self, stage: &str) -> bool {
        self.current().stages.contains_key(stage)
    }

    /// Note a step of a back end that tells only whether it came from the
    /// cache (no key); the reasons it ran, as far as the records tell.
    pub fn unkeyed_step(&self, stage: &str, mut step: StepRecord) -> Vec<Reason> {
        let mut current = self.current();
        let reasons = if step.cached {
            Vec::new()
        } else {
            explain_unkeyed(self.previous.as_ref(), &current, stage, &step)
        };
        step.reasons = reasons.iter().map(ToString::to_string).collect();
        if let Some(record) = current.stages.get_mut(stage) {
            record.steps.push(step);
        }
        reasons
    }

    /// The step at `index` of `stage` failed.
    pub fn step_failed(&self, stage: &str, index: usize) {
        let mut current = self.current();
        let step = current
            .stages
            .get_mut(stage)
            .and_then(|s| s.steps.iter_mut().rev().find(|s| s.index == index));
        if let Some(step) = step {
            step.failed = true;
        }
    }

    /// The finished record: this build's stages, and the earlier record's
    /// other stages carried over (marked not built), so that a build of
    /// another target in between does not make every stage look new.
    pub fn finish(&self, finished: u64) -> BuildRecord {
        let mut record = self.current().clone();
        record.finished = finished;
        // Stages run at once, and BuildKit reports cached steps in any order.
        for stage in record.stages.values_mut() {
            stage.steps.sort_by_key(|s| s.index);
        }
        if let Some(previous) = &self.previous {
            for (name, stage) in &previous.stages {
                record
                    .stages
                    .entry(name.clone())
                    .or_insert_with(|| StageRecord {
                        built: false,
                        ..stage.clone()
                    });
            }
        }
        record
    }
}
