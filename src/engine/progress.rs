//! Build progress for people and tools. `tty`: a live view with one line
//! per stage (indicatif); `plain`: `[stage] …` log lines (the default off a
//! terminal or when `CI` is set); `json`: one event object per line on
//! standard output; `quiet`: only the ids of the images built, on standard
//! output. The only part of the engine that knows about the terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::build_record::Reason;
use super::build_record::reason::short_text;
use super::image_labels::rfc3339_millis;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Tty,
    Plain,
    Json,
    Quiet,
}

impl ProgressMode {
    /// `tty` when standard error is a terminal and `CI` is not set, else `plain`.
    pub fn auto() -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        if std::io::stderr().is_terminal() && !ci {
            ProgressMode::Tty
        } else {
            ProgressMode::Plain
        }
    }
}

/// What happened during a build.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A target starts; these stages will be built, in this order.
    TargetStarted {
        target: &'a str,
        stages: &'a [String],
    },
    /// A step of a stage starts (`index` of `total` builder steps).
    Step {
        stage: &'a str,
        index: usize,
        total: usize,
        text: &'a str,
    },
    /// The step just started was found in the cache.
    Cached {
        stage: &'a str,
    },
    /// The step just started did not come from the cache, for `reasons`
    /// (the most telling first; never empty).
    Explained {
        stage: &'a str,
        text: &'a str,
        reasons: &'a [Reason],
    },
    /// A line of output of the running step.
    Output {
        stage: &'a str,
        line: &'a str,
    },
    /// A target's image is complete.
    ImageBuilt {
        target: &'a str,
        stage: &'a str,
        image: &'a str,
    },
    Tagged {
        target: &'a str,
        tag: &'a str,
    },
    Exported {
        target: &'a str,
        path: &'a Path,
    },
    /// A stage starts running (back ends that run stages at once report
    /// it; before it the stage is waiting for the stages it needs).
    StageStarted {
        stage: &'a str,
    },
    /// A stage finished (back ends that run stages at once report it;
    /// `cached`: every step came from the cache).
    StageDone {
        stage: &'a str,
        cached: bool,
    },
    /// `stage`'s image is the one an earlier build made from the same
    /// inputs, still on the Engine: nothing was asked of the builder for
    /// it or for `stages`, the stages it needs.
    UpToDate {
        stage: &'a str,
        stages: &'a [String],
    },
    /// A target stopped on an error (reported separately as a diagnostic).
    Failed {
        target: &'a str,
    },
    /// The build is over; it sent this many bytes of build context and
    /// file uploads to the Engine.
    Sent {
        bytes: u64,
    },
    /// Pulls (before the build) or pushes (after it) start, one per name;
    /// `action` is `pull` or `push`.
    TransfersStarted {
        action: &'a str,
        names: &'a [String],
    },
    /// A pull or push moved on: layers finished of those seen, bytes moved.
    Transfer {
        action: &'a str,
        name: &'a str,
        layers_done: usize,
        layers: usize,
        bytes: u64,
    },
    /// An image is on the Engine now (`up_to_date`: nothing had changed).
    Pulled {
        image: &'a str,
        digest: Option<&'a str>,
        up_to_date: bool,
    },
    /// A tag is in its registry as `reference` (`name@sha256:…`).
    Pushed {
        target: &'a str,
        tag: &'a str,
        reference: &'a str,
    },
    /// A pull or push failed (reported separately as an error).
    TransferFailed {
        action: &'a str,
        name: &'a str,
    },
    /// A finished step's start and end as the builder measured them
    /// (BuildKit's vertex times), which replace the times it was seen.
    StepTimes {
        stage: &'a str,
        index: usize,
        started: SystemTime,
        completed: SystemTime,
    },
    /// The image a finished stage left on the Engine (native back end).
    StageImage {
        stage: &'a str,
        image: &'a str,
    },
}

/// Something that shows build events.
pub trait ProgressSink {
    fn event(&mut self, event: Event<'_>);
}

/// Where a live view draws: standard error, or a terminal given by a test.
type DrawTarget = Box<dyn Fn() -> ProgressDrawTarget + Send>;
/// Where the lines that stay go once a live view is closed.
type PrintLine = Box<dyn FnMut(&str) + Send>;

/// The terminal reporter.
pub struct Reporter {
    mode: ProgressMode,
    /// Show why steps re-ran (`--explain`); JSON shows it always.
    explain: bool,
    view: Option<LiveView>,
    draw_to: DrawTarget,
    print_line: PrintLine,
    /// JSON events say how long after this they happened.
    created: Instant,
}

impl Reporter {
    pub fn new(mode: ProgressMode) -> Self {
        Self::drawing_to(
            mode,
            Box::new(ProgressDrawTarget::stderr),
            Box::new(|line| eprintln!("{line}")),
        )
    }

    /// A reporter whose live views draw where `draw_to` says, and whose
    /// closed views leave their lines through `print_line`.
    pub fn drawing_to(mode: ProgressMode, draw_to: DrawTarget, print_line: PrintLine) -> Self {
        Self {
            mode,
            explain: false,
            view: None,
            draw_to,
            print_line,
            created: Instant::now(),
        }
    }

    /// Replaces the live view by plain lines, so that with several targets
    /// every target's stage lines stay on screen, not only the last one's.
    fn close_view(&mut self, last: &str) {
        if let Some(view) = self.view.take() {
            for line in view.close(last) {
                (self.print_line)(&line);
            }
        }
    }

    pub fn mode(&self) -> ProgressMode {
        self.mode
    }

    /// Show why each step that did not come from the cache ran.
    pub fn set_explain(&mut self, explain: bool) {
        self.explain = explain;
    }

    /// Ends the live view so diagnostics print below it.
    pub fn finish(&mut self) {
        self.close_view("stopped");
    }

    fn json(&self, value: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
    }

    fn plain(&self, prefix: &str, text: &str) {
        eprintln!("[{prefix}] {text}");
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}

impl ProgressSink for Reporter {
    fn event(&mut self, event: Event<'_>) {
        match self.mode {
            ProgressMode::Quiet => match event {
                Event::ImageBuilt { image, .. } => println!("{image}"),
                Event::Pushed { reference, .. } => println!("{reference}"),
                _ => {}
            },
            ProgressMode::Json => {
                let line = timed_event_json(&event, SystemTime::now(), self.created.elapsed());
                self.json(line);
            }
            ProgressMode::Plain => match event {
                Event::TargetStarted { target, stages } => {
                    self.plain(target, &format!("building stages: {}", stages.join(", ")));
                }
                Event::Step {
                    stage,
                    index,
                    total,
                    text,
                } => self.plain(stage, &format!("step {index}/{total}: {text}")),
                Event::Cached { stage } => self.plain(stage, "cached"),
                Event::Explained {
                    stage,
                    text,
                    reasons,
                } => {
                    if self.explain {
                        self.plain(stage, &explained_text(text, reasons));
                    }
                }
                Event::Output { stage, line } => self.plain(stage, line),
                Event::ImageBuilt { target, image, .. } => {
                    self.plain(target, &format!("built {image}"))
                }
                Event::Tagged { target, tag } => self.plain(target, &format!("tagged {tag}")),
                Event::Exported { target, path } => {
                    self.plain(target, &format!("exported {}", path.display()));
                }
                // Its first step says as much.
                Event::StageStarted { .. } => {}
                Event::StageDone { stage, cached } => {
                    self.plain(stage, if cached { "done (cached)" } else { "done" })
                }
                Event::UpToDate { stage, .. } => self.plain(
                    stage,
                    "up to date (nothing it reads changed since the last build)",
                ),
                Event::Failed { target } => self.plain(target, "failed"),
                Event::Sent { bytes } => self.plain("engine", &sent_text(bytes)),
                Event::TransfersStarted { action, names } => {
                    self.plain(action, &names.join(", "));
                }
                Event::Transfer {
                    action,
                    name,
                    layers_done,
                    layers,
                    bytes,
                } => self.plain(
                    action,
                    &format!("{name}: {}", transfer_text(layers_done, layers, bytes)),
                ),
                Event::Pulled {
                    image,
                    digest,
                    up_to_date,
                } => self.plain("pull", &pulled_text(image, digest, up_to_date)),
                Event::Pushed {
                    target,
                    tag,
                    reference,
                } => self.plain(target, &format!("pushed {tag} as {reference}")),
                Event::TransferFailed { action, name } => {
                    self.plain(action, &format!("{name}: failed"))
                }
                // For the build report only.
                Event::StepTimes { .. } | Event::StageImage { .. } => {}
            },
            ProgressMode::Tty => self.live(event),
        }
    }
}

impl Reporter {
    fn live(&mut self, event: Event<'_>) {
        match event {
            Event::TargetStarted { target, stages } => {
                self.close_view("✔ done");
                (self.print_line)(&format!("building {target}"));
                self.view = Some(LiveView::new(stages, (self.draw_to)()));
            }
            Event::Step {
                stage,
                index,
                total,
                text,
            } => {
                if let Some(view) = &mut self.view {
                    view.step(stage, &format!("[{index}/{total}] {}", one_line(text)));
                }
            }
            Event::Cached { stage } => {
                if let Some(view) = &mut self.view {
                    view.suffix(stage, "cached");
                }
            }
            Event::Output { stage, line } => {
                if let Some(view) = &mut self.view {
                    view.suffix(stage, line);
                }
            }
            Event::Explained {
                stage,
                text,
                reasons,
            } => {
                if self.explain {
                    let line = format!("[{stage}] {}", explained_text(text, reasons));
                    match &self.view {
                        Some(view) => {
                            let _ = view.multi.println(line);
                        }
                        None => eprintln!("{line}"),
                    }
                }
            }
            Event::ImageBuilt { target, image, .. } => {
                self.close_view("✔ done");
                eprintln!("✔ {target}: built {image}");
            }
            Event::Tagged { target, tag } => eprintln!("✔ {target}: tagged {tag}"),
            Event::Exported { target, path } => {
                eprintln!("✔ {target}: exported {}", path.display())
            }
            Event::StageStarted { stage } => {
                if let Some(view) = &mut self.view {
                    view.stage_started(stage);
                }
            }
            Event::StageDone { stage, cached } => {
                if let Some(view) = &mut self.view {
                    view.stage_done(stage, cached);
                }
            }
            Event::UpToDate { stages, .. } => {
                if let Some(view) = &mut self.view {
                    for stage in stages {
                        view.row_done(stage, "✔ up to date");
                    }
                }
            }
            Event::Failed { .. } => {
                self.close_view("stopped");
            }
            Event::Sent { bytes } => {
                self.close_view("✔ done");
                eprintln!("✔ {}", sent_text(bytes));
            }
            Event::TransfersStarted { action, names } => {
                self.close_view("✔ done");
                let heading = match action {
                    "pull" => "pulling images",
                    _ => "pushing tags",
                };
                (self.print_line)(heading);
                self.view = Some(LiveView::new(names, (self.draw_to)()));
            }
            Event::Transfer {
                name,
                layers_done,
                layers,
                bytes,
                ..
            } => {
                if let Some(view) = &mut self.view {
                    view.step(name, &transfer_text(layers_done, layers, bytes));
                }
            }
            Event::Pulled {
                image, up_to_date, ..
            } => {
                if let Some(view) = &mut self.view {
                    view.row_done(
                        image,
                        if up_to_date {
                            "✔ up to date"
                        } else {
                            "✔ pulled"
                        },
                    );
                }
            }
            Event::Pushed {
                target,
                tag,
                reference,
            } => {
                let line = format!("✔ {target}: pushed {reference}");
                match &mut self.view {
                    Some(view) => {
                        view.row_done(tag, "✔ pushed");
                        let _ = view.multi.println(line);
                    }
                    None => eprintln!("{line}"),
                }
            }
            Event::TransferFailed { name, .. } => {
                if let Some(view) = &mut self.view {
                    view.row_done(name, "✘ failed");
                }
            }
            Event::StepTimes { .. } | Event::StageImage { .. } => {}
        }
    }
}

/// `COPY src/ ./ re-ran: src/main.rs changed`.
pub fn explained_text(text: &str, reasons: &[Reason]) -> String {
    let why = reasons
        .first()
        .map_or_else(|| "its cache key changed".to_owned(), ToString::to_string);
    format!("{} re-ran: {why}", short_text(text))
}

fn transfer_text(layers_done: usize, layers: usize, bytes: u64) -> String {
    format!(
        "{layers_done}/{layers} layers, {:.1} MB",
        bytes as f64 / 1e6
    )
}

fn pulled_text(image: &str, digest: Option<&str>, up_to_date: bool) -> String {
    let digest = digest.map(|d| format!(" ({d})")).unwrap_or_default();
    if up_to_date {
        format!("{image}: up to date{digest}")
    } else {
        format!("{image}: pulled{digest}")
    }
}

fn sent_text(bytes: u64) -> String {
    format!("sent {bytes} bytes to the Engine (build context and file uploads)")
}

/// One spinner line per stage.
struct LiveView {
    multi: MultiProgress,
    bars: Vec<(String, ProgressBar, String)>,
    /// The back end reports when each stage ends (stages may run at once),
    /// so the view stops inferring it from the order of steps.
    reports_ends: bool,
}

impl LiveView {
    /// One row per name; the reporter prints the heading above it.
    fn new(stages: &[String], draw_to: ProgressDrawTarget) -> Self {
        let multi = MultiProgress::with_draw_target(draw_to);
        let width = stages.iter().map(String::len).max().unwrap_or(0);
        let style =
            ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {msg} {elapsed:.dim}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = stages
            .iter()
            .map(|stage| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(format!("{stage:width$}"));
                bar.set_message("waiting");
                bar.enable_steady_tick(Duration::from_millis(120));
                (stage.clone(), bar, String::new())
            })
            .collect();
        Self {
            multi,
            bars,
            reports_ends: false,
        }
    }

    /// `stage` stops waiting; from now on the back end reports each end.
    fn stage_started(&mut self, stage: &str) {
        self.reports_ends = true;
        if let Some((_, bar, _)) = self.bars.iter().find(|(s, _, _)| s == stage) {
            // Waiting time is not the stage's own.
            bar.reset_elapsed();
            bar.set_message("running");
        }
    }

    /// `stage` is finished; the others run on.
    fn stage_done(&mut self, stage: &str, cached: bool) {
        self.reports_ends = true;
        if let Some((_, bar, _)) = self.bars.iter().find(|(s, _, _)| s == stage) {
            bar.finish_with_message(if cached { "✔ cached" } else { "✔ done" });
        }
    }

    /// The row of `name` ends with `message`.
    fn row_done(&mut self, name: &str, message: &str) {
        self.reports_ends = true;
        if let Some((_, bar, _)) = self.bars.iter().find(|(s, _, _)| s == name) {
            bar.finish_with_message(message.to_owned());
        }
    }

    /// The classic builder runs stages in order: a step of `stage` means
    /// every stage before it is done.
    fn step(&mut self, stage: &str, text: &str) {
        let Some(position) = self.bars.iter().position(|(s, _, _)| s == stage) else {
            return;
        };
        if !self.reports_ends {
            for (_, bar, _) in &self.bars[..position] {
                if !bar.is_finished() {
                    bar.finish_with_message("✔ done");
                }
            }
        }
        let (_, bar, current) = &mut self.bars[position];
        if current.is_empty() {
            // Waiting time is not the stage's own.
            bar.reset_elapsed();
        }
        *current = text.to_owned();
        bar.set_message(text.to_owned());
    }

    fn suffix(&mut self, stage: &str, text: &str) {
        if let Some((_, bar, current)) = self.bars.iter().find(|(s, _, _)| s == stage) {
            bar.set_message(format!("{current}  {}", one_line(text)));
        }
    }

    /// Ends every row still running with `last`. The rows stay on screen,
    /// so that with several targets each target's stages can be read at
    /// the end, not only the last target's.
    /// Ends every row still running with `last`, clears the live rows and
    /// returns them as plain lines.
    fn close(self, last: &str) -> Vec<String> {
        let width = self.bars.iter().map(|(s, _, _)| s.len()).max().unwrap_or(0);
        let mut lines = Vec::new();
        for (name, bar, _) in &self.bars {
            if !bar.is_finished() {
                bar.finish_with_message(last.to_owned());
            }
            let elapsed = bar.elapsed().as_secs();
            lines.push(format!("  {name:width$} {} {elapsed}s", bar.message()));
        }
        let _ = self.multi.clear();
        lines
    }
}

fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 80 {
        let cut: String = line.chars().take(79).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

/// The JSON object for one event.
pub fn event_json(event: &Event<'_>) -> serde_json::Value {
    match *event {
        Event::TargetStarted { target, stages } => {
            json!({ "event": "target-started", "target": target, "stages": stages })
        }
        Event::Step {
            stage,
            index,
            total,
            text,
        } => {
            json!({ "event": "step", "stage": stage, "index": index, "total": total, "text": text })
        }
        Event::Cached { stage } => json!({ "event": "cached", "stage": stage }),
        Event::Explained {
            stage,
            text,
            reasons,
        } => json!({
            "event": "explained",
            "stage": stage,
            "text": text,
            "reason": reasons.first().map(ToString::to_string),
            "kind": reasons.first().map(Reason::kind),
            "reasons": reasons
                .iter()
                .map(|r| json!({ "kind": r.kind(), "reason": r.to_string() }))
                .collect::<Vec<_>>(),
        }),
        Event::Output { stage, line } => json!({ "event": "output", "stage": stage, "line": line }),
        Event::ImageBuilt {
            target,
            stage,
            image,
        } => json!({ "event": "image-built", "target": target, "stage": stage, "image": image }),
        Event::Tagged { target, tag } => json!({ "event": "tagged", "target": target, "tag": tag }),
        Event::Exported { target, path } => {
            json!({ "event": "exported", "target": target, "path": path.display().to_string() })
        }
        Event::StageStarted { stage } => json!({ "event": "stage-started", "stage": stage }),
        Event::StageDone { stage, cached } => {
            json!({ "event": "stage-done", "stage": stage, "cached": cached })
        }
        Event::UpToDate { stage, stages } => {
            json!({ "event": "up-to-date", "stage": stage, "stages": stages })
        }
        Event::Failed { target } => json!({ "event": "failed", "target": target }),
        Event::Sent { bytes } => json!({ "event": "sent", "bytes": bytes }),
        Event::TransfersStarted { action, names } => {
            json!({ "event": format!("{action}-started"), "names": names })
        }
        Event::Transfer {
            action,
            name,
            layers_done,
            layers,
            bytes,
        } => json!({
            "event": format!("{action}-progress"),
            "name": name,
            "layers_done": layers_done,
            "layers": layers,
            "bytes": bytes,
        }),
        Event::Pulled {
            image,
            digest,
            up_to_date,
        } => {
            json!({ "event": "pulled", "image": image, "digest": digest, "up_to_date": up_to_date })
        }
        Event::Pushed {
            target,
            tag,
            reference,
        } => json!({ "event": "pushed", "target": target, "tag": tag, "reference": reference }),
        Event::TransferFailed { action, name } => {
            json!({ "event": format!("{action}-failed"), "name": name })
        }
        Event::StepTimes {
            stage,
            index,
            started,
            completed,
        } => json!({
            "event": "step-times",
            "stage": stage,
            "index": index,
            "started": rfc3339_millis(started),
            "completed": rfc3339_millis(completed),
        }),
        Event::StageImage { stage, image } => {
            json!({ "event": "stage-image", "stage": stage, "image": image })
        }
    }
}

/// `event_json` with when it happened: `time` (RFC 3339, UTC, in
/// milliseconds) and `elapsed` (seconds since the build started).
pub fn timed_event_json(
    event: &Event<'_>,
    now: SystemTime,
    elapsed: Duration,
) -> serde_json::Value {
    let mut value = event_json(event);
    if let Some(object) = value.as_object_mut() {
        object.insert("time".to_owned(), json!(rfc3339_millis(now)));
        object.insert(
            "elapsed".to_owned(),
            json!((elapsed.as_secs_f64() * 1000.0).round() / 1000.0),
        );
    }
    value
}

#[cfg(test)]
#[path = "progress_screen_tests.rs"]
mod screen_tests;

/// Records events, for tests of what a back end reports.
#[derive(Debug, Default)]
pub struct Recorder {
    pub events: Vec<serde_json::Value>,
}

impl ProgressSink for Recorder {
    fn event(&mut self, event: Event<'_>) {
        self.events.push(event_json(&event));
    }
}
