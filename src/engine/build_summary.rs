//! The end of a build in a few lines: how long it took and, per target,
//! whether it was built, came whole from the cache, failed or was not
//! reached, with its image id or output directory. Fed by the progress
//! events every back end reports, so each back end gets the same summary.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::progress::{Event, ProgressSink};

/// How one target of the build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// At least one step ran.
    Built,
    /// Every step came from the cache.
    Cached,
    /// Nothing was asked of the builder: an earlier build's image, made
    /// from the same inputs, is still on the Engine.
    UpToDate,
    Failed,
    /// Built, but another target failed: no tag moved, no file placed.
    Unpublished,
    /// The build stopped before this target.
    NotBuilt,
}

impl TargetState {
    pub fn word(self) -> &'static str {
        match self {
            TargetState::Built => "built",
            TargetState::Cached => "cached",
            TargetState::UpToDate => "up to date",
            TargetState::Failed => "failed",
            TargetState::Unpublished => "unpublished",
            TargetState::NotBuilt => "not built",
        }
    }
}

#[derive(Debug, Clone)]
struct TargetRecord {
    name: String,
    started: bool,
    failed: bool,
    /// Steps that ran (a step found in the cache is not counted).
    ran: usize,
    image: Option<String>,
    output: Option<PathBuf>,
    /// Stages of it were reported up to date.
    up_to_date: bool,
    /// The builder reported a step of it (cached or not).
    stepped: bool,
}

/// What the build's events said about each target.
#[derive(Debug, Clone)]
pub struct BuildSummary {
    targets: Vec<TargetRecord>,
    current: Option<usize>,
    /// Steps (stage, text) that ran in this build: a later target that
    /// finds one "in the cache" reuses this build's work, so it was built.
    ran_here: HashSet<(String, String)>,
    /// The step started last, until the next event says it was cached.
    started: Option<(String, String)>,
    /// Stages built (not taken whole from the cache) in this build.
    built_stages: HashSet<String>,
    /// A FROM was announced last: the next "cached" is its own.
    from_pending: bool,
    /// Solves asked of BuildKit, for a back end that counts them.
    solves: Option<u64>,
}

impl BuildSummary {
    /// A summary of a build of these targets, in build order.
    pub fn new<'a>(targets: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            targets: targets
                .into_iter()
                .map(|name| TargetRecord {
                    name: name.to_owned(),
                    started: false,
                    failed: false,
                    ran: 0,
                    image: None,
                    output: None,
                    up_to_date: false,
                    stepped: false,
                })
                .collect(),
            current: None,
            ran_here: HashSet::new(),
            started: None,
            built_stages: HashSet::new(),
            from_pending: false,
            solves: None,
        }
    }

    /// The build asked BuildKit for `solves` solves (shown in the JSON
    /// summary).
    pub fn count_solves(&mut self, solves: u64) {
        self.solves = Some(solves);
    }

    pub fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::TargetStarted { target, stages } => {
                self.settle_started();
                self.from_pending = false;
                self.current = self.targets.iter().position(|t| t.name == target);
                // A stage an earlier target built is this build's work, even
                // when the builder reports none of its steps (BuildKit
                // answers a solve found whole in its cache with no vertex).
                let reuses = stages.iter().any(|stage| self.built_here(stage));
                if let Some(record) = self.record(target) {
                    record.started = true;
                    if reuses {
                        record.ran += 1;
                    }
                }
            }
            // A builder's FROM is never "from the cache"; it decides
            // only that the target was not up to date.
            Event::Step { text, .. } if is_from(text) => {
                if let Some(record) = self.current.and_then(|i| self.targets.get_mut(i)) {
                    record.stepped = true;
                }
                self.settle_started();
                self.from_pending = true;
            }
            Event::Step { stage, text, .. } => {
                self.settle_started();
                self.from_pending = false;
                self.started = Some((stage.to_owned(), text.to_owned()));
                if let Some(record) = self.current.and_then(|i| self.targets.get_mut(i)) {
                    record.ran += 1;
                    record.stepped = true;
                }
            }
            Event::UpToDate { .. } => {
                if let Some(record) = self.current.and_then(|i| self.targets.get_mut(i)) {
                    record.up_to_date = true;
                }
            }
            Event::Cached { .. } if self.from_pending => self.from_pending = false,
            Event::Cached { .. } => {
                let reused_from_this_build = self
                    .started
                    .take()
                    .is_some_and(|step| self.ran_here.contains(&step));
                if reused_from_this_build {
                    return;
                }
                if let Some(record) = self.current.and_then(|i| self.targets.get_mut(i)) {
                    record.ran = record.ran.saturating_sub(1);
                }
            }
            Event::StageDone { stage, cached } => {
                if !cached {
                    self.built_stages.insert(stage.to_owned());
                } else if self.built_stages.contains(stage)
                    && let Some(record) = self.current.and_then(|i| self.targets.get_mut(i))
                {
                    // Shared with a target built earlier in this build.
                    record.ran += 1;
                }
            }
            Event::ImageBuilt { target, image, .. } => {
                if let Some(record) = self.record(target) {
                    record.image = Some(image.to_owned());
                }
            }
            Event::Exported { target, path } => {
                if let Some(record) = self.record(target) {
                    record.output = Some(path.to_owned());
                }
            }
            Event::Failed { target } => {
                if let Some(record) = self.record(target) {
                    record.failed = true;
                }
            }
            _ => {}
        }
    }

    /// The step started last was not reported cached: it ran.
    fn settle_started(&mut self) {
        if let Some(step) = self.started.take() {
            self.ran_here.insert(step);
        }
    }

    /// Whether a step of `stage` ran, or the stage was built, in this build.
    fn built_here(&self, stage: &str) -> bool {
        self.built_stages.contains(stage) || self.ran_here.iter().any(|(s, _)| s == stage)
    }

    fn record(&mut self, target: &str) -> Option<&mut TargetRecord> {
        self.targets.iter_mut().find(|t| t.name == target)
    }

    /// How each target ended; `finished` says whether the build got to
    /// publish its results (a target built before a failure is not placed).
    pub fn states(&self, finished: bool) -> Vec<(&str, TargetState)> {
        self.targets
            .iter()
            .map(|t| {
                let state = if t.failed {
                    TargetState::Failed
                } else if !t.started {
                    TargetState::NotBuilt
                } else if !finished {
                    TargetState::Unpublished
                } else if t.ran == 0 && t.up_to_date && !t.stepped {
                    TargetState::UpToDate
                } else if t.ran == 0 {
                    TargetState::Cached
                } else {
                    TargetState::Built
                };
                (t.name.as_str(), state)
            })
            .collect()
    }

    /// The summary for people: the wall time, then one line per target.
    /// Output directories are shown relative to `here` when under it.
    pub fn render(&self, elapsed: Duration, finished: bool, here: &Path) -> String {
        let states = self.states(finished);
        let failed = states
            .iter()
            .any(|(_, state)| *state == TargetState::Failed);
        let verb = if failed {
            "failed after"
        } else {
            "finished in"
        };
        let mut out = format!("build {verb} {}\n", wall_time(elapsed));
        let width = states.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (record, (name, state)) in self.targets.iter().zip(&states) {
            let detail = match state {
                TargetState::Built | TargetState::Cached | TargetState::UpToDate => {
                    self.detail(record, here)
                }
                _ => String::new(),
            };
            let line = format!("  {name:width$}  {:11}  {detail}", state.word());
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// The same as one JSON object.
    pub fn json(&self, elapsed: Duration, finished: bool) -> serde_json::Value {
        let states = self.states(finished);
        let targets: Vec<serde_json::Value> = self
            .targets
            .iter()
            .zip(&states)
            .map(|(record, (name, state))| {
                json!({
                    "target": name,
                    "state": state.word(),
                    "image": record.image,
                    "output": record.output.as_ref().map(|p| p.display().to_string()),
                })
            })
            .collect();
        let mut summary =
            json!({ "event": "summary", "seconds": elapsed.as_secs_f64(), "targets": targets });
        if let Some(solves) = self.solves {
            summary["solves"] = json!(solves);
        }
        summary
    }

    fn detail(&self, record: &TargetRecord, here: &Path) -> String {
        if let Some(image) = &record.image {
            return short_id(image);
        }
        match &record.output {
            Some(path) => {
                let shown = path.strip_prefix(here).unwrap_or(path);
                let mut text = shown.display().to_string();
                if !text.ends_with('/') {
                    text.push('/');
                }
                text
            }
            None => String::new(),
        }
    }
}

fn is_from(text: &str) -> bool {
    text.split_whitespace()
        .next()
        .is_some_and(|word| word.eq_ignore_ascii_case("FROM"))
}

/// `sha256:0123456789ab…` as `docker images` shows it: twelve digits.
fn short_id(image: &str) -> String {
    let (algorithm, hex) = image.split_once(':').unwrap_or(("", image));
    let short: String = hex.chars().take(12).collect();
    if algorithm.is_empty() {
        short
    } else {
        format!("{algorithm}:{short}")
    }
}

/// `0.4s`, `12.3s`, `2m05s`.
fn wall_time(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = elapsed.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// Passes every event on to the view and records it in the summary.
pub struct Summarising<'a> {
    pub view: &'a mut dyn ProgressSink,
    pub summary: &'a mut BuildSummary,
}

impl ProgressSink for Summarising<'_> {
    fn event(&mut self, event: Event<'_>) {
        self.summary.observe(&event);
        self.view.event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step<'a>(stage: &'a str, text: &'a str) -> Event<'a> {
        Event::Step {
            stage,
            index: 1,
            total: 2,
            text,
        }
    }

    fn sample() -> BuildSummary {
        let mut summary = BuildSummary::new(["dist", "app", "later"]);
        let stages = ["build".to_owned()];
        let events = [
            Event::TargetStarted {
                target: "dist",
                stages: &stages,
            },
            step("build", "FROM busybox AS build"),
            step("build", "RUN make"),
            Event::Cached { stage: "build" },
            Event::Exported {
                target: "dist",
                path: Path::new("/p/dist"),
            },
            Event::TargetStarted {
                target: "app",
                stages: &stages,
            },
            step("build", "COPY a /a"),
            Event::ImageBuilt {
                target: "app",
                stage: "build",
                image: "sha256:0123456789abcdef0123",
            },
        ];
        for event in &events {
            summary.observe(event);
        }
        summary
    }

    #[test]
    fn each_target_says_how_it_ended() {
        let summary = sample();
        insta::assert_snapshot!(
            summary.render(Duration::from_millis(12_340), true, Path::new("/p")),
            @r"
        build finished in 12.3s
          dist   cached       dist/
          app    built        sha256:0123456789ab
          later  not built
        "
        );
    }

    #[test]
    fn a_target_whose_stages_an_earlier_target_built_was_built_by_this_build() {
        let mut summary = BuildSummary::new(["app", "base-image", "unrelated"]);
        let app = ["base".to_owned(), "app".to_owned()];
        let base = ["base".to_owned()];
        let other = ["other".to_owned()];
        let events = [
            Event::TargetStarted {
                target: "app",
                stages: &app,
            },
            step("base", "FROM busybox AS base"),
            step("base", "RUN make"),
            // The FROM of `app`, found cached: not the RUN's verdict.
            step("app", "FROM busybox AS app"),
            Event::Cached { stage: "app" },
            // BuildKit reports nothing for a solve found whole in its cache.
            Event::TargetStarted {
                target: "base-image",
                stages: &base,
            },
            Event::TargetStarted {
                target: "unrelated",
                stages: &other,
            },
            step("other", "RUN true"),
            Event::Cached { stage: "other" },
        ];
        for event in &events {
            summary.observe(event);
        }
        assert_eq!(
            summary.states(true),
            [
                ("app", TargetState::Built),
                ("base-image", TargetState::Built),
                ("unrelated", TargetState::Cached),
            ]
        );
    }

    #[test]
    fn a_failed_target_and_what_was_not_published() {
        let mut summary = sample();
        summary.observe(&Event::Failed { target: "app" });
        insta::assert_snapshot!(
            summary.render(Duration::from_secs(125), false, Path::new("/elsewhere")),
            @r"
        build failed after 2m05s
          dist   unpublished
          app    failed
          later  not built
        "
        );
        let json = summary.json(Duration::from_secs(1), false);
        assert_eq!(json["targets"][1]["state"], "failed");
        assert_eq!(json.get("solves"), None);
    }

    #[test]
    fn a_target_nothing_was_asked_for_is_up_to_date() {
        let mut summary = BuildSummary::new(["app", "dist"]);
        let stages = ["base".to_owned(), "app".to_owned()];
        let events = [
            Event::TargetStarted {
                target: "app",
                stages: &stages,
            },
            Event::UpToDate {
                stage: "app",
                stages: &stages,
            },
            Event::ImageBuilt {
                target: "app",
                stage: "app",
                image: "sha256:0123456789abcdef0123",
            },
            Event::TargetStarted {
                target: "dist",
                stages: &stages,
            },
            Event::UpToDate {
                stage: "base",
                stages: &stages[..1],
            },
            step("app", "FROM busybox AS app"),
            step("app", "RUN make"),
            Event::Cached { stage: "app" },
        ];
        for event in &events {
            summary.observe(event);
        }
        summary.count_solves(1);
        insta::assert_snapshot!(
            summary.render(Duration::from_millis(80), true, Path::new("/p")),
            @r"
        build finished in 0.1s
          app   up to date   sha256:0123456789ab
          dist  cached
        "
        );
        let json = summary.json(Duration::from_secs(1), true);
        assert_eq!(json["targets"][0]["state"], "up to date");
        assert_eq!(json["solves"], 1);
    }
}
