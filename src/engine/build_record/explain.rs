//! Comparing a step with the earlier build's record of it: every reason it
//! did not come from the cache, the most telling first. The step's own
//! inputs come before what it starts from, so that a step whose ARG
//! changed says so even when the step before it re-ran too.

use std::collections::BTreeMap;

use super::reason::Reason;
use super::record::{BuildRecord, StageRecord, StepRecord};

/// Why `step` of `stage` did not come from the cache. `current` holds what
/// this build recorded so far (the stage's earlier steps, the stages it
/// read); `previous` the earlier build's record.
pub fn explain(
    previous: Option<&BuildRecord>,
    current: &BuildRecord,
    stage: &str,
    step: &StepRecord,
) -> Vec<Reason> {
    let this_stage = current.stages.get(stage);
    let filter = !current.no_cache;
    let (previous, before_stage, before) = match comparable(previous, current, stage, step, filter)
    {
        Ok(found) => found,
        Err(reason) => return vec![reason],
    };
    if before.key == step.key {
        return vec![if before.failed {
            Reason::FailedBefore
        } else {
            Reason::CacheEntryGone
        }];
    }
    let mut reasons = Vec::new();
    if let (Some(was), Some(now)) = (&before.expanded, &step.expanded)
        && was != now
    {
        reasons.push(Reason::ExpandedChanged {
            before: was.clone(),
            after: now.clone(),
        });
    }
    reasons.extend(file_reasons(previous, current, before, step));
    reasons.extend(upstream_reasons(current, before, step));
    reasons.extend(pair_reasons(&before.args, &step.args, Pair::Arg));
    let env = |list: &[(String, String)]| list.iter().cloned().collect::<BTreeMap<_, _>>();
    reasons.extend(pair_reasons(&env(&before.env), &env(&step.env), Pair::Env));
    // Before the settings: a moved base image or a re-run step before
    // also changes the settings it passes on (a base image's labels), and
    // is the cause to name.
    if before.parent != step.parent {
        reasons.push(parent_reason(current, this_stage, before_stage));
    }
    reasons.extend(settings_reasons(before, step));
    if before.other_inputs != step.other_inputs {
        reasons.push(Reason::OtherInputChanged);
    }
    if reasons.is_empty() {
        reasons.push(Reason::Unknown);
    }
    reasons
}

/// Why a step of a back end that reports only "ran" or "cached" (BuildKit's
/// status stream) ran: what the records tell without the step's key.
/// The stage's earlier steps and the stages it copies from are this
/// build's own; build args are the build's, told for RUN steps only.
pub fn explain_unkeyed(
    previous: Option<&BuildRecord>,
    current: &BuildRecord,
    stage: &str,
    step: &StepRecord,
) -> Vec<Reason> {
    let this_stage = current.stages.get(stage);
    let before = match comparable(previous, current, stage, step, false) {
        Ok((_, _, before)) => before,
        Err(reason) => return vec![reason],
    };
    let mut reasons = Vec::new();
    for upstream in step.upstream.iter().filter(|u| u.stage) {
        if stage_ran(current, &upstream.name) {
            reasons.push(Reason::UpstreamStageRan {
                stage: upstream.name.clone(),
                via: upstream.via.clone(),
            });
        }
    }
    if let Some(step_before) = this_stage.and_then(|s| s.steps.last())
        && !step_before.cached
    {
        reasons.push(Reason::StepBeforeRan {
            text: step_before.text.clone(),
        });
    }
    if step.text.starts_with("RUN") {
        reasons.extend(pair_reasons(&before.args, &step.args, Pair::Arg));
    }
    if reasons.is_empty() {
        reasons.push(Reason::NotReported);
    }
    reasons
}

/// The earlier build, its record of `stage` and of `step`, when the two
/// builds can be compared; else the one reason that says why the step ran
/// (`--no-cache` for the stage, a first build, another back end, a new
/// stage, a step the earlier build did not have). `filter`: a stage
/// without the cache is one `--no-cache-filter` named.
fn comparable<'a>(
    previous: Option<&'a BuildRecord>,
    current: &BuildRecord,
    stage: &str,
    step: &StepRecord,
    filter: bool,
) -> Result<(&'a BuildRecord, &'a StageRecord, &'a StepRecord), Reason> {
    if current.stages.get(stage).is_some_and(|s| s.no_cache) {
        return Err(Reason::NoCache { filter });
    }
    let previous = previous.ok_or(Reason::FirstBuild)?;
    if previous.backend != current.backend {
        return Err(Reason::OtherBackend {
            before: previous.backend.clone(),
        });
    }
    let before_stage = previous.stages.get(stage).ok_or_else(|| Reason::NewStage {
        stage: stage.to_owned(),
    })?;
    let before = matching_step(before_stage, step)?;
    Ok((previous, before_stage, before))
}

/// The earlier build's step in this place: the same text at the same
/// index, else the same text anywhere in the stage (steps were inserted
/// or removed before it), else the reason there is none.
fn matching_step<'a>(before: &'a StageRecord, step: &StepRecord) -> Result<&'a StepRecord, Reason> {
    let at_index = before.steps.iter().find(|s| s.index == step.index);
    if let Some(found) = at_index.filter(|s| s.text == step.text) {
        return Ok(found);
    }
    if let Some(found) = before.steps.iter().find(|s| s.text == step.text) {
        return Ok(found);
    }
    Err(match at_index {
        Some(other) => Reason::TextChanged {
            before: other.text.clone(),
        },
        None => Reason::NewStep,
    })
}

fn file_reasons(
    previous: &BuildRecord,
    current: &BuildRecord,
    before: &StepRecord,
    step: &StepRecord,
) -> Vec<Reason> {
    if before.context_digest == step.context_digest {
        return Vec::new();
    }
    if !before.lists_every_file() || !step.lists_every_file() {
        return vec![Reason::FilesChanged];
    }
    let was: BTreeMap<&str, &str> = before
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.digest.as_str()))
        .collect();
    let now: BTreeMap<&str, &str> = step
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.digest.as_str()))
        .collect();
    let changed: Vec<&str> = now
        .iter()
        .filter(|(path, digest)| was.get(*path).is_some_and(|d| d != *digest))
        .map(|(path, _)| *path)
        .collect();
    let added: Vec<&str> = now
        .keys()
        .filter(|p| !was.contains_key(*p))
        .copied()
        .collect();
    let removed: Vec<&str> = was
        .keys()
        .filter(|p| !now.contains_key(*p))
        .copied()
        .collect();
    let total = changed.len() + added.len() + removed.len();
    if total == 0 {
        return vec![Reason::FileMetadataChanged];
    }
    let mut reasons = Vec::new();
    if previous.dockerignore != current.dockerignore {
        if let Some(path) = added.first() {
            reasons.push(Reason::DockerignoreChanged {
                path: (*path).to_owned(),
                now: "included",
            });
        } else if let Some(path) = removed.first() {
            reasons.push(Reason::DockerignoreChanged {
                path: (*path).to_owned(),
                now: "excluded",
            });
        }
    }
    let more = total - 1;
    if let Some(path) = changed.first() {
        reasons.push(Reason::FileChanged {
            path: (*path).to_owned(),
            more,
        });
    } else if let Some(path) = added.first() {
        reasons.push(Reason::FileAdded {
            path: (*path).to_owned(),
            more,
        });
    } else if let Some(path) = removed.first() {
        reasons.push(Reason::FileRemoved {
            path: (*path).to_owned(),
            more,
        });
    }
    reasons
}

fn upstream_reasons(current: &BuildRecord, before: &StepRecord, step: &StepRecord) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for now in &step.upstream {
        let was = before
            .upstream
            .iter()
            .find(|u| u.name == now.name && u.stage == now.stage && u.via == now.via);
        if was.is_some_and(|was| was.image == now.image) {
            continue;
        }
        reasons.push(if now.stage {
            if stage_ran(current, &now.name) {
                Reason::UpstreamStageRan {
                    stage: now.name.clone(),
                    via: now.via.clone(),
                }
            } else {
                Reason::UpstreamStageMoved {
                    stage: now.name.clone(),
                    via: now.via.clone(),
                }
            }
        } else {
            Reason::UpstreamImageMoved {
                image: now.name.clone(),
                id: now.image.clone(),
            }
        });
    }
    reasons
}

/// Whether this build ran a step of `stage` (or started it from a stage
/// that did).
fn stage_ran(current: &BuildRecord, stage: &str) -> bool {
    let mut name = stage;
    // A chain of `from = { stage }` is finite: the graph has no cycle; the
    // bound keeps a damaged record from looping.
    for _ in 0..=current.stages.len() {
        let Some(record) = current.stages.get(name) else {
            return false;
        };
        if record.steps.iter().any(|s| !s.cached) {
            return true;
        }
        if !record.base.stage {
            return false;
        }
        name = &record.base.name;
    }
    false
}

#[derive(Clone, Copy)]
enum Pair {
    Arg,
    Env,
}

fn pair_reasons(
    was: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    pair: Pair,
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    for (name, value) in now {
        let reason = match (was.get(name), pair) {
            (Some(before), _) if before == value => continue,
            (Some(before), _) => match pair {
                Pair::Arg => Reason::ArgChanged {
                    name: name.clone(),
                    before: before.clone(),
                    after: value.clone(),
                },
                Pair::Env => Reason::EnvChanged {
                    name: name.clone(),
                    before: before.clone(),
                    after: value.clone(),
                },
            },
            (None, Pair::Arg) => Reason::ArgAdded {
                name: name.clone(),
                value: value.clone(),
            },
            (None, Pair::Env) => Reason::EnvAdded {
                name: name.clone(),
                value: value.clone(),
            },
        };
        reasons.push(reason);
    }
    for (name, before) in was {
        if now.contains_key(name) {
            continue;
        }
        reasons.push(match pair {
            Pair::Arg => Reason::ArgRemoved {
                name: name.clone(),
                before: before.clone(),
            },
            Pair::Env => Reason::EnvRemoved {
                name: name.clone(),
                before: before.clone(),
            },
        });
    }
    reasons
}

fn settings_reasons(before: &StepRecord, step: &StepRecord) -> Vec<Reason> {
    let (was, now) = (&before.settings, &step.settings);
    let mut reasons = Vec::new();
    if was.workdir != now.workdir {
        reasons.push(Reason::WorkdirChanged {
            before: was.workdir.clone(),
            after: now.workdir.clone(),
        });
    }
    if was.user != now.user {
        reasons.push(Reason::UserChanged {
            before: was.user.clone(),
            after: now.user.clone(),
        });
    }
    if was.shell != now.shell {
        reasons.push(Reason::ShellChanged);
    }
    // The environment is in the digest too, and named above.
    let env_changed = before.env != step.env;
    if reasons.is_empty() && !env_changed && was.digest != now.digest {
        reasons.push(Reason::SettingsChanged);
    }
    reasons
}

/// The step starts from another image: its base moved (first step), or
/// the step before it ran or came from another cache entry.
fn parent_reason(
    current: &BuildRecord,
    this_stage: Option<&StageRecord>,
    before_stage: &StageRecord,
) -> Reason {
    let step_before = this_stage.and_then(|s| s.steps.last());
    if let Some(step_before) = step_before {
        return if step_before.cached {
            Reason::StepBeforeMoved {
                text: step_before.text.clone(),
            }
        } else {
            Reason::StepBeforeRan {
                text: step_before.text.clone(),
            }
        };
    }
    let Some(stage) = this_stage else {
        return Reason::Unknown;
    };
    let base = &stage.base;
    if base.stage {
        return if stage_ran(current, &base.name) {
            Reason::BaseStageRan {
                stage: base.name.clone(),
            }
        } else {
            Reason::UpstreamStageMoved {
                stage: base.name.clone(),
                via: "stage built on it".to_owned(),
            }
        };
    }
    if base.name != before_stage.base.name {
        return Reason::BaseImageChanged {
            before: before_stage.base.name.clone(),
            after: base.name.clone(),
        };
    }
    if base.image != before_stage.base.image {
        return Reason::BaseImageMoved {
            image: base.name.clone(),
            id: base.image.clone(),
        };
    }
    Reason::Unknown
}
