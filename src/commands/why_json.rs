//! `stages why --message-format json`: the last build's record as JSON
//! lines, one per step, shaped like `stages build --progress json`'s
//! events: `explained` for a step that ran (its reasons as the build told
//! them), `cached` for one that came from the cache, after a `last-build`
//! line naming the build.

use serde_json::{Value, json};

use crate::engine::build_record::explain::explain;
use crate::engine::build_record::{BuildRecord, StepRecord};

/// The lines for the stages `names` of `last` (those it built).
pub fn why_lines(last: &BuildRecord, previous: Option<&BuildRecord>, names: &[&String]) -> String {
    let mut lines = vec![json!({
        "event": "last-build",
        "targets": last.targets,
        "backend": last.backend,
        "no_cache": last.no_cache,
        "finished": last.finished,
    })];
    for name in names {
        let Some(stage) = last.stages.get(*name).filter(|s| s.built) else {
            continue;
        };
        for step in &stage.steps {
            lines.push(step_line(last, previous, name, step));
        }
    }
    lines.iter().map(|line| format!("{line}\n")).collect()
}

fn step_line(
    last: &BuildRecord,
    previous: Option<&BuildRecord>,
    stage: &str,
    step: &StepRecord,
) -> Value {
    if step.cached {
        return json!({ "event": "cached", "stage": stage, "text": step.text });
    }
    // The record keeps the sentences; their kinds come from comparing the
    // records again, when that tells the same sentences.
    let again = explain(previous, last, stage, step);
    let same = again.len() == step.reasons.len()
        && again
            .iter()
            .zip(&step.reasons)
            .all(|(reason, said)| reason.to_string() == *said);
    let kind = |i: usize| same.then(|| again.get(i).map(|r| r.kind())).flatten();
    json!({
        "event": "explained",
        "stage": stage,
        "text": step.text,
        "failed": step.failed,
        "reason": step.reasons.first(),
        "kind": kind(0),
        "reasons": step
            .reasons
            .iter()
            .enumerate()
            .map(|(i, reason)| json!({ "kind": kind(i), "reason": reason }))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::build_record::StageRecord;

    #[test]
    fn each_step_is_a_line_with_the_reasons_the_build_gave() {
        let mut record = BuildRecord {
            backend: "native".into(),
            targets: vec!["app".into()],
            finished: 1_000,
            ..BuildRecord::default()
        };
        record.stages.insert(
            "app".into(),
            StageRecord {
                built: true,
                steps: vec![
                    StepRecord {
                        text: "RUN make".into(),
                        reasons: vec!["ARG V 1 → 2".into(), "the step before re-ran".into()],
                        ..StepRecord::default()
                    },
                    StepRecord {
                        text: "RUN true".into(),
                        cached: true,
                        ..StepRecord::default()
                    },
                ],
                ..StageRecord::default()
            },
        );
        let names = ["app".to_owned()];
        let names: Vec<&String> = names.iter().collect();
        let text = why_lines(&record, None, &names);
        let lines: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0]["event"], "last-build");
        assert_eq!(lines[0]["targets"][0], "app");
        assert_eq!(lines[1]["event"], "explained");
        assert_eq!(lines[1]["text"], "RUN make");
        assert_eq!(lines[1]["reason"], "ARG V 1 → 2");
        assert_eq!(lines[1]["reasons"][1]["reason"], "the step before re-ran");
        assert_eq!(
            lines[2],
            json!({"event": "cached", "stage": "app", "text": "RUN true"})
        );
    }
}
