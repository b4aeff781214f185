//! BuildKit's status stream (vertexes, logs, warnings) as stages'
//! progress events. The Dockerfile frontend names each step's vertex
//! `[stage n/m] INSTRUCTION`; `stage` and `n` lead back through the
//! exported Dockerfile's instruction map to the stage and step of
//! stages.toml, so a failed step gets the same diagnostic as elsewhere.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard_buildkit_proto::google::protobuf::Timestamp;
use bollard_buildkit_proto::moby::buildkit::v1::StatusResponse;

use super::step_record::BuildKitRecording;
use crate::convert::export::ExportedStep;
use crate::engine::backend::failure::{FailedStep, TAIL_LINES};
use crate::engine::progress::{Event, ProgressSink};

/// A vertex the frontend made for one instruction of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VertexStep {
    pub stage: String,
    /// 1-based among the stage's instructions (its FROM is 1).
    pub index: usize,
    pub total: usize,
    pub text: String,
}

/// `[stage n/m] TEXT`, as the Dockerfile frontend names a step's vertex.
pub fn parse_vertex_name(name: &str) -> Option<VertexStep> {
    let rest = name.strip_prefix('[')?;
    let (head, text) = rest.split_once("] ")?;
    let (stage, counts) = head.rsplit_once(' ')?;
    let (index, total) = counts.split_once('/')?;
    Some(VertexStep {
        stage: stage.to_owned(),
        index: index.parse().ok()?,
        total: total.parse().ok()?,
        text: text.trim().to_owned(),
    })
}

#[derive(Debug, Default)]
struct VertexState {
    step: Option<VertexStep>,
    started: bool,
    cached: bool,
    done: bool,
    partial: String,
    tail: VecDeque<String>,
}

/// Follows one solve's status stream.
pub struct StatusTracker<'a> {
    instructions: &'a [ExportedStep],
    vertices: HashMap<String, VertexState>,
    failed: Option<String>,
    /// Steps that ran (not from the cache), by vertex name.
    ran: HashSet<String>,
    /// Where steps are recorded (`--explain`, `stages why`), if anywhere.
    recording: Option<BuildKitRecording>,
}

impl<'a> StatusTracker<'a> {
    pub fn new(instructions: &'a [ExportedStep]) -> Self {
        Self {
            instructions,
            vertices: HashMap::new(),
            failed: None,
            ran: HashSet::new(),
            recording: None,
        }
    }

    /// Record each step as it finishes.
    #[must_use]
    pub fn recording(mut self, recording: Option<BuildKitRecording>) -> Self {
        self.recording = recording;
        self
    }

    /// Applies one status message, reporting what changed.
    pub fn apply(&mut self, status: StatusResponse, progress: &mut dyn ProgressSink) {
        let instructions = self.instructions;
        for vertex in status.vertexes {
            let state = self.vertices.entry(vertex.digest.clone()).or_default();
            if state.step.is_none() {
                state.step = parse_vertex_name(&vertex.name);
            }
            let Some(step) = state.step.clone() else {
                continue;
            };
            let stage = stage_name(instructions, &step.stage);
            if (vertex.started.is_some() || vertex.cached) && !state.started {
                state.started = true;
                progress.event(Event::Step {
                    stage: &stage,
                    index: step.index,
                    total: step.total,
                    text: &step.text,
                });
            }
            if vertex.cached && !state.cached {
                state.cached = true;
                progress.event(Event::Cached { stage: &stage });
                if let Some(recording) = &mut self.recording {
                    recording.step(&stage, &step, true);
                }
            }
            if let Some(completed) = vertex.completed.as_ref().filter(|_| !state.done) {
                state.done = true;
                if !vertex.cached && vertex.error.is_empty() {
                    self.ran.insert(vertex.name.clone());
                }
                let completed = system_time(completed);
                // A step found in the cache may come without a start.
                let started = vertex.started.as_ref().map_or(completed, system_time);
                progress.event(Event::StepTimes {
                    stage: &stage,
                    index: step.index,
                    started,
                    completed,
                });
                if !vertex.cached
                    && let Some(recording) = &mut self.recording
                {
                    let reasons = recording.step(&stage, &step, false);
                    if !vertex.error.is_empty() {
                        recording.failed(&stage, step.index);
                    }
                    if !reasons.is_empty() {
                        progress.event(Event::Explained {
                            stage: &stage,
                            text: &step.text,
                            reasons: &reasons,
                        });
                    }
                }
            }
            if !vertex.error.is_empty() && self.failed.is_none() {
                self.failed = Some(vertex.digest.clone());
            }
        }
        for log in status.logs {
            let text = String::from_utf8_lossy(&log.msg).into_owned();
            let Some(state) = self.vertices.get_mut(&log.vertex) else {
                continue;
            };
            let Some(step) = state.step.clone() else {
                continue;
            };
            state.partial.push_str(&text);
            let mut lines = Vec::new();
            while let Some(end) = state.partial.find('\n') {
                let line: String = state.partial.drain(..=end).collect();
                let line = line.trim_end_matches(['\n', '\r']).to_owned();
                if line.trim().is_empty() {
                    continue;
                }
                if state.tail.len() == TAIL_LINES {
                    state.tail.pop_front();
                }
                state.tail.push_back(line.clone());
                lines.push(line);
            }
            let stage = stage_name(instructions, &step.stage);
            for line in lines {
                progress.event(Event::Output {
                    stage: &stage,
                    line: &line,
                });
            }
        }
        for warning in status.warnings {
            let stage = self
                .vertices
                .get(&warning.vertex)
                .and_then(|s| s.step.as_ref())
                .map_or_else(
                    || "buildkit".to_owned(),
                    |s| stage_name(instructions, &s.stage),
                );
            let line = format!("warning: {}", String::from_utf8_lossy(&warning.short));
            progress.event(Event::Output {
                stage: &stage,
                line: &line,
            });
        }
    }

    /// How many steps ran and how many came from the cache, once the
    /// solve is over (a FROM only names the base image, and counts as
    /// neither).
    pub fn step_counts(&self) -> (usize, usize) {
        let steps = self.vertices.values().filter(|state| {
            state
                .step
                .as_ref()
                .is_some_and(|step| !step.text.starts_with("FROM "))
        });
        let (mut ran, mut cached) = (0, 0);
        for state in steps {
            if state.cached {
                cached += 1;
            } else if state.done {
                ran += 1;
            }
        }
        (ran, cached)
    }

    /// Names of the step vertices that ran rather than came from the cache.
    pub fn ran(&self) -> &HashSet<String> {
        &self.ran
    }

    /// The step that failed, located in the exported Dockerfile.
    pub fn failed_step(&self) -> FailedStep {
        let Some(state) = self.failed.as_ref().and_then(|d| self.vertices.get(d)) else {
            return FailedStep::default();
        };
        let mut tail: Vec<String> = state.tail.iter().cloned().collect();
        if !state.partial.trim().is_empty() {
            tail.push(state.partial.trim_end().to_owned());
            if tail.len() > TAIL_LINES {
                tail.remove(0);
            }
        }
        let Some(step) = &state.step else {
            return FailedStep {
                tail,
                ..FailedStep::default()
            };
        };
        FailedStep {
            index: instruction_index(self.instructions, step).map(|i| i + 1),
            text: step.text.clone(),
            tail,
        }
    }
}

/// A protobuf timestamp of the daemon's clock; one before 1970 or out of
/// range is taken as 1970 (the report then clamps it to the build).
fn system_time(timestamp: &Timestamp) -> SystemTime {
    let seconds = u64::try_from(timestamp.seconds).unwrap_or(0);
    let nanos = u32::try_from(timestamp.nanos).unwrap_or(0);
    UNIX_EPOCH
        .checked_add(Duration::new(seconds, nanos.min(999_999_999)))
        .unwrap_or(UNIX_EPOCH)
}

/// The stage as stages.toml spells it (BuildKit lowercases names).
fn stage_name(instructions: &[ExportedStep], name: &str) -> String {
    instructions
        .iter()
        .find(|i| i.stage.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |i| i.stage.clone())
}

/// The step's 0-based position in the whole exported Dockerfile.
fn instruction_index(instructions: &[ExportedStep], step: &VertexStep) -> Option<usize> {
    let of_stage: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, i)| i.stage.eq_ignore_ascii_case(&step.stage))
        .map(|(n, _)| n)
        .collect();
    // A stage built on another stage has no FROM vertex: BuildKit then
    // counts only the instructions after FROM.
    let skipped = of_stage.len().checked_sub(step.total)?;
    of_stage.get(step.index.checked_sub(1)? + skipped).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::progress::Recorder;
    use bollard_buildkit_proto::moby::buildkit::v1::{Vertex, VertexLog};

    #[test]
    fn vertex_names_give_stage_and_step() {
        assert_eq!(
            parse_vertex_name("[build 2/3] RUN make all"),
            Some(VertexStep {
                stage: "build".into(),
                index: 2,
                total: 3,
                text: "RUN make all".into()
            })
        );
        assert_eq!(
            parse_vertex_name("[internal] load build definition from Dockerfile"),
            None
        );
    }

    #[test]
    fn a_completed_vertex_reports_the_daemons_times() {
        let instructions = Vec::new();
        let mut tracker = StatusTracker::new(&instructions);
        let mut recorder = Recorder::default();
        let at = |seconds, nanos| Some(Timestamp { seconds, nanos });
        let vertex = Vertex {
            digest: "sha256:b".into(),
            name: "[build 2/2] RUN make".into(),
            started: at(1_795_456_800, 250_000_000),
            ..Vertex::default()
        };
        tracker.apply(
            StatusResponse {
                vertexes: vec![vertex.clone()],
                ..StatusResponse::default()
            },
            &mut recorder,
        );
        let done = Vertex {
            completed: at(1_795_456_802, 0),
            ..vertex
        };
        for _ in 0..2 {
            tracker.apply(
                StatusResponse {
                    vertexes: vec![done.clone()],
                    ..StatusResponse::default()
                },
                &mut recorder,
            );
        }
        let times: Vec<_> = recorder
            .events
            .iter()
            .filter(|e| e["event"] == "step-times")
            .collect();
        assert_eq!(times.len(), 1, "{:?}", recorder.events);
        assert_eq!(times[0]["stage"], "build");
        assert_eq!(times[0]["index"], 2);
        assert_eq!(times[0]["started"], "2026-11-23T18:00:00.250Z");
        assert_eq!(times[0]["completed"], "2026-11-23T18:00:02.000Z");
    }

    #[test]
    fn a_failed_vertex_is_located_with_its_last_lines() {
        let instructions = vec![
            ExportedStep {
                stage: String::new(),
                step: None,
                line: 1,
            },
            ExportedStep {
                stage: "build".into(),
                step: None,
                line: 3,
            },
            ExportedStep {
                stage: "build".into(),
                step: Some(0),
                line: 4,
            },
        ];
        let mut tracker = StatusTracker::new(&instructions);
        let mut recorder = Recorder::default();
        let started = Some(bollard_buildkit_proto::google::protobuf::Timestamp::default());
        tracker.apply(
            StatusResponse {
                vertexes: vec![Vertex {
                    digest: "sha256:a".into(),
                    name: "[build 2/2] RUN echo hi && exit 3".into(),
                    started,
                    ..Vertex::default()
                }],
                logs: vec![VertexLog {
                    vertex: "sha256:a".into(),
                    msg: b"hi\npart".to_vec(),
                    ..VertexLog::default()
                }],
                ..StatusResponse::default()
            },
            &mut recorder,
        );
        tracker.apply(
            StatusResponse {
                vertexes: vec![Vertex {
                    digest: "sha256:a".into(),
                    name: "[build 2/2] RUN echo hi && exit 3".into(),
                    error: "exit code: 3".into(),
                    ..Vertex::default()
                }],
                ..StatusResponse::default()
            },
            &mut recorder,
        );
        assert!(
            !recorder.events.iter().any(|e| e["event"] == "step-times"),
            "no times before the vertex completes"
        );
        let failed = tracker.failed_step();
        assert_eq!(failed.index, Some(3));
        assert_eq!(failed.text, "RUN echo hi && exit 3");
        assert_eq!(failed.tail, ["hi", "part"]);
    }
}
