//! A `BuildReport` from what the build saw: the timeline, how each target
//! ended, the stage graph and the sizes the Engine gave.

use std::collections::BTreeMap;
use std::time::Duration;

use super::critical_path::{Ran, busy, critical_path, parallelism, span};
use super::model::{
    BuildReport, CacheReport, REPORT_KIND, REPORT_VERSION, SizedStage, StageReport, StepReport,
    TargetReport, seconds,
};
use super::timeline::{StageSpan, Timeline};
use crate::engine::image_labels::rfc3339_millis;
use crate::graph::{EdgeKind, ProjectGraph};

/// What a report is made of besides the timeline.
pub struct ReportInputs<'a> {
    pub backend: &'a str,
    pub wall: Duration,
    pub finished: bool,
    pub graph: &'a ProjectGraph,
    /// Every target of the build in order: name, state word, image
    /// target's stage.
    pub targets: Vec<(String, String, Option<String>)>,
    /// Image sizes in bytes by image id.
    pub sizes: &'a BTreeMap<String, u64>,
}

pub fn assemble(timeline: &Timeline, inputs: &ReportInputs<'_>) -> BuildReport {
    // The classic builder reports the global args before the first stage
    // as a stage of their own; they are no stage of the project.
    let spans: Vec<&StageSpan> = timeline
        .stages()
        .iter()
        .filter(|s| inputs.graph.stages().contains(&s.name))
        .collect();
    let needs: Vec<Vec<String>> = spans
        .iter()
        .map(|s| {
            inputs
                .graph
                .stage_dependencies(&s.name)
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        })
        .collect();
    let ran: Vec<Ran<'_>> = spans
        .iter()
        .zip(&needs)
        .map(|(s, needs)| Ran {
            name: &s.name,
            start: s.start(),
            end: s.end(),
            busy: s.busy(),
            needs: needs.iter().map(String::as_str).collect(),
        })
        .collect();
    let path = critical_path(&ran);
    let path_seconds = match (
        path.first().and_then(|f| ran.iter().find(|r| r.name == *f)),
        path.last().and_then(|l| ran.iter().find(|r| r.name == *l)),
    ) {
        (Some(first), Some(last)) => last.end.saturating_sub(first.start),
        _ => Duration::ZERO,
    };
    let size_of = |image: Option<&String>| image.and_then(|i| inputs.sizes.get(i).copied());
    let stages: Vec<StageReport> = spans
        .iter()
        .map(|s| StageReport {
            name: s.name.clone(),
            start: seconds(s.start()),
            end: seconds(s.end()),
            seconds: seconds(s.busy()),
            cached: s.cached(),
            critical: path.contains(&s.name.as_str()),
            failed: s.failed,
            image: s.image.clone(),
            size: size_of(s.image.as_ref()),
            steps: s
                .steps
                .iter()
                .map(|step| {
                    let end = step.end.unwrap_or(step.start);
                    StepReport {
                        index: step.index,
                        text: step.text.clone(),
                        start: seconds(step.start),
                        end: seconds(end),
                        seconds: seconds(end.saturating_sub(step.start)),
                        cached: step.cached,
                    }
                })
                .collect(),
        })
        .collect();
    let deciding = spans
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|step| !step.is_from());
    let (steps, cached) = deciding.fold((0, 0), |(all, hit), step| {
        (all + 1, hit + usize::from(step.cached))
    });
    let targets = inputs
        .targets
        .iter()
        .map(|(name, state, stage)| {
            let image = timeline.target_images().get(name).cloned();
            let copies_from = stage
                .as_deref()
                .map(|stage| copied_from(inputs.graph, stage))
                .unwrap_or_default()
                .into_iter()
                .map(|from| SizedStage {
                    size: size_of(
                        spans
                            .iter()
                            .find(|s| s.name == from)
                            .and_then(|s| s.image.as_ref()),
                    ),
                    stage: from,
                })
                .collect();
            TargetReport {
                name: name.clone(),
                state: state.clone(),
                stage: stage.clone(),
                size: size_of(image.as_ref()),
                image,
                copies_from,
            }
        })
        .collect();
    BuildReport {
        report: REPORT_KIND,
        version: REPORT_VERSION,
        backend: inputs.backend.to_owned(),
        started: rfc3339_millis(timeline.started_at()),
        finished: inputs.finished,
        wall_seconds: seconds(inputs.wall),
        timing: if timeline.measured_by_builder() {
            "builder"
        } else {
            "observed"
        },
        critical_path: path.iter().map(|s| (*s).to_owned()).collect(),
        critical_path_seconds: seconds(path_seconds),
        stages_seconds: seconds(span(&ran)),
        busy_seconds: seconds(busy(&ran)),
        parallelism: parallelism(&ran).map(|p| (p * 100.0).round() / 100.0),
        cache: CacheReport {
            steps,
            cached,
            ratio: (steps > 0).then(|| cached as f64 / steps as f64),
        },
        bytes_sent: timeline.bytes_sent(),
        stages,
        targets,
    }
}

/// The stages `stage` copies files or artifacts from, in the order written.
fn copied_from(graph: &ProjectGraph, stage: &str) -> Vec<String> {
    let mut from: Vec<String> = Vec::new();
    for (name, kind) in graph.stage_dependencies(stage) {
        if matches!(kind, EdgeKind::Copy | EdgeKind::Artifact) && !from.contains(&name) {
            from.push(name);
        }
    }
    from
}
