//! `stages why [TARGET]`: why the last build's steps ran, from its build
//! record (see `engine::build_record`), without building or asking the
//! Engine anything. With a target (or stage), only the stages it needs;
//! `--message-format json` prints it as JSON lines (`why_json`).

use std::fmt::Write as _;

use miette::miette;

use super::Exit;
use super::common::{load_project, resolve, root_stages};
use crate::cli::{MessageFormat, WhyArgs};
use crate::engine::build_record::reason::{short_digest, short_text};
use crate::engine::build_record::{BuildRecord, StageRecord, store};
use crate::engine::project_state::ProjectState;

pub fn run(args: WhyArgs) -> miette::Result<Exit> {
    let loaded = match load_project(&args.config) {
        Ok(loaded) => loaded,
        Err(exit) => return Ok(exit),
    };
    let state = ProjectState::for_config_dir(&loaded.dir)
        .map_err(|e| miette!("cannot resolve {}: {e}", loaded.dir.display()))?;
    let stored = store::load(&state).map_err(|error| {
        miette!(
            help = "build again: the next build writes a new record",
            "{error}"
        )
    })?;
    let Some(last) = stored.last else {
        eprintln!(
            "no build of this project is recorded yet: `stages build` records one (the classic builder's builds are not recorded)"
        );
        return Ok(Exit::Failure);
    };
    let wanted: Option<Vec<String>> = match &args.target {
        None => None,
        Some(name) => {
            let targets = match resolve(&loaded, std::slice::from_ref(name)) {
                Ok(targets) => targets,
                Err(exit) => return Ok(exit),
            };
            Some(loaded.graph.needed_stages(&root_stages(&targets)))
        }
    };
    if args.message_format == MessageFormat::Json {
        let names: Vec<&String> = match &wanted {
            Some(wanted) => wanted.iter().collect(),
            None => last.stages.keys().collect(),
        };
        if !names
            .iter()
            .any(|name| last.stages.get(*name).is_some_and(|s| s.built))
        {
            eprintln!(
                "the last build did not build {}",
                args.target.as_deref().unwrap_or("any stage")
            );
            return Ok(Exit::Failure);
        }
        print!(
            "{}",
            super::why_json::why_lines(&last, stored.previous.as_ref(), &names)
        );
        return Ok(Exit::Success);
    }
    let text = explain_record(&last, wanted.as_deref(), now());
    if text.stages_shown == 0 {
        eprintln!(
            "the last build did not build {}",
            args.target.as_deref().unwrap_or("any stage")
        );
        return Ok(Exit::Failure);
    }
    print!("{}", text.text);
    Ok(Exit::Success)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The report, and how many stages it shows.
pub struct WhyText {
    pub text: String,
    pub stages_shown: usize,
}

/// Every stage the last build built (of `wanted`, when given), each step
/// cached or why it ran.
pub fn explain_record(record: &BuildRecord, wanted: Option<&[String]>, now: u64) -> WhyText {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "last build: {} ({} back end{}), {}",
        record.targets.join(", "),
        record.backend,
        if record.no_cache { ", --no-cache" } else { "" },
        ago(now.saturating_sub(record.finished)),
    );
    let mut stages_shown = 0;
    let names: Vec<&String> = match wanted {
        Some(wanted) => wanted.iter().collect(),
        None => record.stages.keys().collect(),
    };
    for name in names {
        let Some(stage) = record.stages.get(name).filter(|s| s.built) else {
            if wanted.is_some() {
                let _ = writeln!(text, "{name}: not built by the last build");
            }
            continue;
        };
        stages_shown += 1;
        write_stage(&mut text, name, stage);
    }
    WhyText { text, stages_shown }
}

fn write_stage(text: &mut String, name: &str, stage: &StageRecord) {
    let ran = stage.steps.iter().filter(|s| !s.cached).count();
    // BuildKit's status stream names no base image id, and no base at all
    // when another stage's FROM vertex is the same.
    let base = match (&stage.base, stage.base.name.is_empty()) {
        (_, true) => String::new(),
        (base, false) if base.stage => format!(" from stage {}", base.name),
        (base, false) if base.image.is_empty() => format!(" from {}", base.name),
        (base, false) => format!(" from {} ({})", base.name, short_digest(&base.image)),
    };
    let summary = match ran {
        0 => "every step came from the cache".to_owned(),
        1 => "1 step ran".to_owned(),
        n => format!("{n} steps ran"),
    };
    let _ = writeln!(text, "{name}{base}: {summary}");
    for step in &stage.steps {
        let failed = if step.failed { " and failed" } else { "" };
        if step.cached {
            let _ = writeln!(text, "  {} (cached)", short_text(&step.text));
            continue;
        }
        let first = step
            .reasons
            .first()
            .map_or("its cache key changed", String::as_str);
        let _ = writeln!(text, "  {} re-ran{failed}: {first}", short_text(&step.text));
        if step.reasons.len() > 1 {
            let _ = writeln!(text, "    also: {}", step.reasons[1..].join("; "));
        }
    }
}

fn ago(seconds: u64) -> String {
    match seconds {
        0..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::build_record::{BaseRecord, StepRecord};

    #[test]
    fn the_report_names_each_step_and_skips_stages_not_built() {
        let mut record = BuildRecord {
            backend: "native".into(),
            targets: vec!["app".into()],
            finished: 1_000,
            ..BuildRecord::default()
        };
        let step = |text: &str, cached: bool, reasons: &[&str]| StepRecord {
            text: text.into(),
            cached,
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            ..StepRecord::default()
        };
        record.stages.insert(
            "builder".into(),
            StageRecord {
                base: BaseRecord {
                    name: "golang:1.22".into(),
                    stage: false,
                    image: "sha256:0123456789abcdef".into(),
                },
                built: true,
                steps: vec![
                    step(
                        "COPY src/ ./",
                        false,
                        &["src/main.rs changed", "ARG V 1 → 2"],
                    ),
                    step("RUN make", true, &[]),
                ],
                ..StageRecord::default()
            },
        );
        record.stages.insert(
            "old".into(),
            StageRecord {
                built: false,
                ..StageRecord::default()
            },
        );
        let why = explain_record(&record, None, 1_000 + 120);
        assert_eq!(why.stages_shown, 1);
        assert_eq!(
            why.text,
            "last build: app (native back end), 2 min ago\n\
             builder from golang:1.22 (sha256:0123456789ab): 1 step ran\n  \
             COPY src/ ./ re-ran: src/main.rs changed\n    \
             also: ARG V 1 → 2\n  \
             RUN make (cached)\n"
        );
        let only_old = explain_record(&record, Some(&["old".to_owned()]), 0);
        assert_eq!(only_old.stages_shown, 0);
    }
}
