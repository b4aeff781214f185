//! The BuildKit back end's steps in a build record's terms. BuildKit's
//! status stream says of a step's vertex only that it ran or came from the
//! cache, not what its cache key was made of: each step is recorded with
//! its text, the build args (for RUN) and the stages it copies from, and a
//! step that ran is explained by what the records can tell (first build,
//! --no-cache, text changed, the step before or a stage it copies from ran,
//! a build arg), else by saying that BuildKit does not tell.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::status::VertexStep;
use crate::engine::build_record::{BaseRecord, Reason, Recorder, StepRecord, UpstreamRecord};

/// One solve's recording.
pub struct BuildKitRecording {
    recorder: Arc<Recorder>,
    build_args: BTreeMap<String, String>,
    no_cache: bool,
    /// Per stage met in this solve: whether its steps are recorded (an
    /// earlier solve of the same build may have recorded it).
    stages: HashMap<String, bool>,
}

impl BuildKitRecording {
    pub fn new(
        recorder: Arc<Recorder>,
        build_args: &BTreeMap<String, String>,
        no_cache: bool,
    ) -> Self {
        Self {
            recorder,
            build_args: build_args.clone(),
            no_cache,
            stages: HashMap::new(),
        }
    }

    /// A step's vertex of `stage` finished, from the cache or not; the
    /// reasons it ran.
    pub fn step(&mut self, stage: &str, step: &VertexStep, cached: bool) -> Vec<Reason> {
        let from = step.text.strip_prefix("FROM ");
        let recorder = &self.recorder;
        let no_cache = self.no_cache;
        let recording = *self.stages.entry(stage.to_owned()).or_insert_with(|| {
            if recorder.has_stage(stage) {
                return false;
            }
            // A stage built on another stage has no FROM vertex.
            let base = BaseRecord {
                name: from
                    .map(|f| f.split(' ').next().unwrap_or(f).to_owned())
                    .unwrap_or_default(),
                stage: from.is_none(),
                image: String::new(),
            };
            recorder.stage_started(stage, base, no_cache);
            true
        });
        if !recording || from.is_some() {
            return Vec::new();
        }
        let args = if step.text.starts_with("RUN") {
            self.build_args.clone()
        } else {
            BTreeMap::new()
        };
        let record = StepRecord {
            index: step.index,
            text: step.text.clone(),
            cached,
            args,
            upstream: copied_stage(&step.text).into_iter().collect(),
            ..StepRecord::default()
        };
        self.recorder.unkeyed_step(stage, record)
    }

    /// The step at `index` of `stage` failed.
    pub fn failed(&self, stage: &str, index: usize) {
        self.recorder.step_failed(stage, index);
    }
}

/// `COPY --from=builder …` reads stage (or image) `builder`.
fn copied_stage(text: &str) -> Option<UpstreamRecord> {
    let rest = text.strip_prefix("COPY ")?;
    let name = rest
        .split_whitespace()
        .find_map(|word| word.strip_prefix("--from="))?;
    Some(UpstreamRecord {
        name: name.to_owned(),
        // An image reference has a `:`, `/` or `@`; a stage name none.
        stage: !name.contains([':', '/', '@']),
        image: String::new(),
        via: format!("COPY --from={name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vertex(index: usize, text: &str) -> VertexStep {
        VertexStep {
            stage: "runtime".into(),
            index,
            total: 3,
            text: text.into(),
        }
    }

    #[test]
    fn a_copy_from_a_stage_that_ran_says_so_and_unknown_causes_are_admitted() {
        let earlier = Arc::new(Recorder::new(None, "buildkit", vec![], false, None));
        let mut first = BuildKitRecording::new(Arc::clone(&earlier), &BTreeMap::new(), false);
        first.step("builder", &vertex(1, "FROM busybox AS builder"), true);
        first.step("builder", &vertex(2, "RUN make"), false);
        first.step("runtime", &vertex(1, "FROM busybox"), true);
        let reasons = first.step("runtime", &vertex(2, "COPY --from=builder /a /b"), false);
        assert_eq!(
            reasons[0].to_string(),
            "first build (no record of an earlier one)"
        );
        first.step("runtime", &vertex(3, "RUN ls /b"), false);

        let now = Arc::new(Recorder::new(
            Some(earlier.finish(1)),
            "buildkit",
            vec![],
            false,
            None,
        ));
        let mut second = BuildKitRecording::new(Arc::clone(&now), &BTreeMap::new(), false);
        second.step("builder", &vertex(1, "FROM busybox AS builder"), true);
        let reasons = second.step("builder", &vertex(2, "RUN make"), false);
        assert_eq!(reasons[0], Reason::NotReported);
        second.step("runtime", &vertex(1, "FROM busybox"), true);
        let reasons = second.step("runtime", &vertex(2, "COPY --from=builder /a /b"), false);
        assert_eq!(
            reasons[0].to_string(),
            "stage builder re-ran, so this COPY --from=builder did"
        );
        let reasons = second.step("runtime", &vertex(3, "RUN ls /b"), false);
        assert_eq!(
            reasons[0].to_string(),
            "the step before (`COPY --from=builder /a /b`) re-ran"
        );
    }

    #[test]
    fn copies_from_images_are_not_stages() {
        assert!(copied_stage("COPY --from=builder /a /b").is_some_and(|u| u.stage));
        assert!(copied_stage("COPY --from=alpine:3 /a /b").is_some_and(|u| !u.stage));
        assert!(copied_stage("COPY a b").is_none());
    }
}
