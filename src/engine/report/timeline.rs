//! When each stage and step of a build ran, read from the progress events
//! every back end reports and the moment each arrived. Back ends that run
//! stages at once say when a stage starts and ends (native) or how long
//! each step took (BuildKit's vertex times); without either (the classic
//! builder) stages run one after another, so a step ends when the next
//! one starts.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::engine::progress::Event;

/// One step of a stage, in time since the build started.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpan {
    /// 1-based, as the back end counts the stage's steps.
    pub index: usize,
    pub text: String,
    pub start: Duration,
    pub end: Option<Duration>,
    pub cached: bool,
}

impl StepSpan {
    /// A base-image step is never "from the cache"; it decides nothing.
    pub fn is_from(&self) -> bool {
        self.text
            .split_whitespace()
            .next()
            .is_some_and(|word| word.eq_ignore_ascii_case("FROM"))
    }
}

/// One stage of the build.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSpan {
    pub name: String,
    /// When the back end said the stage started; else its first step.
    started: Option<Duration>,
    /// When the back end said the stage ended; else its last step's end.
    ended: Option<Duration>,
    /// What the back end said when the stage ended.
    reported_cached: Option<bool>,
    /// The stage's image on the Engine, when the back end leaves one.
    pub image: Option<String>,
    pub steps: Vec<StepSpan>,
    /// A later target met the stage again: it was this build's work already.
    sealed: bool,
    /// Its step times are the builder's own (BuildKit).
    measured: bool,
    /// It was still running when its target failed.
    pub failed: bool,
}

impl StageSpan {
    fn new(name: &str, started: Option<Duration>) -> Self {
        Self {
            name: name.to_owned(),
            started,
            ended: None,
            reported_cached: None,
            image: None,
            steps: Vec::new(),
            sealed: false,
            measured: false,
            failed: false,
        }
    }

    /// BuildKit runs a stage's FROM as early as it can, whatever the
    /// stage waits for, so the stage starts with its first other step.
    pub fn start(&self) -> Duration {
        let deciding = self.steps.iter().filter(|s| !s.is_from());
        let first_step = deciding
            .map(|s| s.start)
            .min()
            .or_else(|| self.steps.iter().map(|s| s.start).min());
        match (self.started, first_step) {
            (Some(started), _) => started,
            (None, Some(step)) => step,
            (None, None) => Duration::ZERO,
        }
    }

    pub fn end(&self) -> Duration {
        let last_step = self
            .steps
            .iter()
            .map(|s| s.end.unwrap_or(s.start))
            .max()
            .unwrap_or_default();
        self.ended
            .unwrap_or(last_step)
            .max(last_step)
            .max(self.start())
    }

    /// The stage's own time. BuildKit runs a step as soon as its inputs
    /// are there, so a stage may wait between steps (a `WORKDIR` at once, a
    /// copy from another stage when that one is done): with the builder's
    /// times, only the time its steps (not `FROM`) ran counts.
    pub fn busy(&self) -> Duration {
        if !self.measured {
            return self.end().saturating_sub(self.start());
        }
        let mut intervals: Vec<(Duration, Duration)> = self
            .steps
            .iter()
            .filter(|s| !s.is_from())
            .map(|s| (s.start, s.end.unwrap_or(s.start)))
            .collect();
        intervals.sort();
        let mut total = Duration::ZERO;
        let mut reached = Duration::ZERO;
        for (start, end) in intervals {
            let from = start.max(reached);
            if end > from {
                total += end - from;
            }
            reached = reached.max(end);
        }
        total
    }

    /// Every step that decides came from the cache.
    pub fn cached(&self) -> bool {
        self.reported_cached
            .unwrap_or_else(|| self.steps.iter().filter(|s| !s.is_from()).all(|s| s.cached))
    }

    fn close_open_step(&mut self, at: Duration) {
        for step in &mut self.steps {
            if step.end.is_none() {
                step.end = Some(at.max(step.start));
            }
        }
    }
}

/// The build's stages as they ran, and what the targets produced.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The wall-clock time the build started, for times a back end measured.
    started_at: SystemTime,
    stages: Vec<StageSpan>,
    /// The back end reports stage ends or step times itself.
    reports_ends: bool,
    /// The back end measured its steps' times (BuildKit).
    measured: bool,
    bytes_sent: Option<u64>,
    images: BTreeMap<String, String>,
}

impl Timeline {
    pub fn new(started_at: SystemTime) -> Self {
        Self {
            started_at,
            stages: Vec::new(),
            reports_ends: false,
            measured: false,
            bytes_sent: None,
            images: BTreeMap::new(),
        }
    }

    /// The stages in the order they were first seen.
    pub fn stages(&self) -> &[StageSpan] {
        &self.stages
    }

    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// Step times come from the builder's own clock (BuildKit).
    pub fn measured_by_builder(&self) -> bool {
        self.measured
    }

    pub fn bytes_sent(&self) -> Option<u64> {
        self.bytes_sent
    }

    /// Image targets and the image each produced.
    pub fn target_images(&self) -> &BTreeMap<String, String> {
        &self.images
    }

    /// Takes in `event`, which arrived `at` after the build started.
    pub fn observe(&mut self, event: &Event<'_>, at: Duration) {
        match *event {
            Event::TargetStarted { .. } => {
                self.close_all(at);
                for stage in &mut self.stages {
                    stage.sealed = true;
                }
            }
            Event::StageStarted { stage } => {
                self.reports_ends = true;
                if self.find(stage).is_none() {
                    self.stages.push(StageSpan::new(stage, Some(at)));
                }
            }
            Event::StageDone { stage, cached } => {
                self.reports_ends = true;
                if let Some(span) = self.open_stage(stage) {
                    span.close_open_step(at);
                    span.ended = Some(at);
                    span.reported_cached = Some(cached);
                }
            }
            Event::StageImage { stage, image } => {
                if let Some(span) = self.open_stage(stage) {
                    span.image = Some(image.to_owned());
                }
            }
            Event::Step {
                stage, index, text, ..
            } => self.step_started(stage, index, text, at),
            Event::Cached { stage } => {
                if let Some(step) = self.open_stage(stage).and_then(|s| s.steps.last_mut()) {
                    step.cached = true;
                }
            }
            Event::StepTimes {
                stage,
                index,
                started,
                completed,
            } => {
                self.reports_ends = true;
                self.measured = true;
                let start = self.since_start(started);
                let end = self.since_start(completed).max(start);
                let Some(span) = self.open_stage(stage) else {
                    return;
                };
                span.measured = true;
                if let Some(step) = span.steps.iter_mut().rev().find(|s| s.index == index) {
                    step.start = start;
                    step.end = Some(end);
                }
            }
            Event::ImageBuilt { target, image, .. } => {
                self.close_all(at);
                self.images.insert(target.to_owned(), image.to_owned());
            }
            Event::Failed { .. } => {
                for stage in self.stages.iter_mut().filter(|s| !s.sealed) {
                    let running = stage.steps.iter().any(|s| s.end.is_none())
                        || (stage.started.is_some() && stage.ended.is_none());
                    stage.failed |= running;
                }
                self.close_all(at);
            }
            Event::Exported { .. } => self.close_all(at),
            Event::Sent { bytes } => {
                self.close_all(at);
                self.bytes_sent = Some(bytes);
            }
            _ => {}
        }
    }

    /// The build is over: what is still open ends now.
    pub fn close_all(&mut self, at: Duration) {
        for stage in &mut self.stages {
            if !stage.sealed {
                stage.close_open_step(at);
            }
        }
    }

    fn step_started(&mut self, stage: &str, index: usize, text: &str, at: Duration) {
        if !self.reports_ends {
            // One stage after another: the step before this one is over.
            self.close_all(at);
        }
        let span = match self.stages.iter().position(|s| s.name == stage) {
            Some(position) => &mut self.stages[position],
            None => {
                self.stages.push(StageSpan::new(stage, None));
                let last = self.stages.len() - 1;
                &mut self.stages[last]
            }
        };
        if span.sealed {
            return;
        }
        span.close_open_step(at);
        span.steps.push(StepSpan {
            index,
            text: text.to_owned(),
            start: at,
            end: None,
            cached: false,
        });
    }

    fn find(&self, stage: &str) -> Option<&StageSpan> {
        self.stages.iter().find(|s| s.name == stage)
    }

    /// The stage, unless a later target met it again.
    fn open_stage(&mut self, stage: &str) -> Option<&mut StageSpan> {
        self.stages
            .iter_mut()
            .find(|s| s.name == stage)
            .filter(|s| !s.sealed)
    }

    /// A time of the builder's clock as time since the build started;
    /// one from before the build (another clock) counts as its start.
    fn since_start(&self, time: SystemTime) -> Duration {
        time.duration_since(self.started_at).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn step<'a>(stage: &'a str, index: usize, text: &'a str) -> Event<'a> {
        Event::Step {
            stage,
            index,
            total: 3,
            text,
        }
    }

    #[test]
    fn stages_one_after_another_end_when_the_next_step_starts() {
        let mut timeline = Timeline::new(SystemTime::UNIX_EPOCH);
        let stages = ["a".to_owned(), "b".to_owned()];
        let events = [
            (
                0,
                Event::TargetStarted {
                    target: "t",
                    stages: &stages,
                },
            ),
            (10, step("a", 1, "FROM busybox AS a")),
            (20, step("a", 2, "RUN make")),
            (500, step("b", 1, "FROM busybox AS b")),
            (510, step("b", 2, "COPY --from=a /x /x")),
            (520, Event::Cached { stage: "b" }),
            (
                600,
                Event::ImageBuilt {
                    target: "t",
                    stage: "b",
                    image: "sha256:1",
                },
            ),
        ];
        for (at, event) in &events {
            timeline.observe(event, ms(*at));
        }
        let [a, b] = timeline.stages() else {
            panic!("two stages: {:?}", timeline.stages());
        };
        // A stage's own time starts after its FROM.
        assert_eq!((a.start(), a.end()), (ms(20), ms(500)));
        assert_eq!((b.start(), b.end()), (ms(510), ms(600)));
        assert_eq!(a.steps[0].end, Some(ms(20)));
        assert!(!a.cached());
        assert!(b.cached(), "its FROM does not count");
        assert!(!a.failed && !b.failed);
        assert_eq!(timeline.target_images()["t"], "sha256:1");
    }

    #[test]
    fn stages_at_once_keep_their_own_ends_and_a_later_target_seals_them() {
        let mut timeline = Timeline::new(SystemTime::UNIX_EPOCH);
        let stages = ["a".to_owned(), "b".to_owned()];
        let events = [
            (
                0,
                Event::TargetStarted {
                    target: "t",
                    stages: &stages,
                },
            ),
            (5, Event::StageStarted { stage: "a" }),
            (6, Event::StageStarted { stage: "b" }),
            (10, step("a", 1, "RUN slow")),
            (11, step("b", 1, "RUN quick")),
            (
                50,
                Event::StageDone {
                    stage: "b",
                    cached: false,
                },
            ),
            (
                900,
                Event::StageDone {
                    stage: "a",
                    cached: false,
                },
            ),
            (
                901,
                Event::StageImage {
                    stage: "a",
                    image: "sha256:a",
                },
            ),
            (
                950,
                Event::TargetStarted {
                    target: "u",
                    stages: &stages,
                },
            ),
            (960, Event::StageStarted { stage: "a" }),
            (
                961,
                Event::StageDone {
                    stage: "a",
                    cached: true,
                },
            ),
        ];
        for (at, event) in &events {
            timeline.observe(event, ms(*at));
        }
        let a = &timeline.stages()[0];
        let b = &timeline.stages()[1];
        assert_eq!((a.start(), a.end()), (ms(5), ms(900)));
        assert_eq!(a.steps[0].end, Some(ms(900)));
        assert_eq!((b.start(), b.end()), (ms(6), ms(50)));
        assert!(!a.cached(), "the second target's reuse changes nothing");
        assert_eq!(a.image.as_deref(), Some("sha256:a"));
    }

    #[test]
    fn builder_times_replace_the_times_seen() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut timeline = Timeline::new(start);
        timeline.observe(&step("a", 2, "RUN make"), ms(300));
        timeline.observe(&step("b", 2, "RUN other"), ms(310));
        timeline.observe(
            &Event::StepTimes {
                stage: "a",
                index: 2,
                started: start + ms(100),
                completed: start + ms(2100),
            },
            ms(2200),
        );
        // A clock behind the build's: the step counts from the start.
        timeline.observe(
            &Event::StepTimes {
                stage: "b",
                index: 2,
                started: start - ms(50),
                completed: start + ms(400),
            },
            ms(2300),
        );
        let a = &timeline.stages()[0];
        assert_eq!((a.start(), a.end()), (ms(100), ms(2100)));
        let b = &timeline.stages()[1];
        assert_eq!((b.start(), b.end()), (ms(0), ms(400)));
        assert!(timeline.measured_by_builder());
    }

    #[test]
    fn the_stage_running_when_its_target_failed_failed() {
        let mut timeline = Timeline::new(SystemTime::UNIX_EPOCH);
        let events = [
            (0, Event::StageStarted { stage: "done" }),
            (1, Event::StageStarted { stage: "broken" }),
            (
                2,
                Event::StageDone {
                    stage: "done",
                    cached: false,
                },
            ),
            (3, step("broken", 1, "RUN exit 3")),
            (9, Event::Failed { target: "t" }),
        ];
        for (at, event) in &events {
            timeline.observe(event, ms(*at));
        }
        let [done, broken] = timeline.stages() else {
            panic!("{:?}", timeline.stages());
        };
        assert!(!done.failed);
        assert!(broken.failed);
        assert_eq!(broken.end(), ms(9));
    }

    #[test]
    fn a_stage_without_a_start_event_starts_after_its_from() {
        let mut timeline = Timeline::new(SystemTime::UNIX_EPOCH);
        timeline.observe(&step("app", 1, "FROM busybox AS app"), ms(0));
        timeline.observe(
            &Event::StageImage {
                stage: "x",
                image: "i",
            },
            ms(1),
        );
        timeline.observe(
            &Event::StepTimes {
                stage: "app",
                index: 1,
                started: SystemTime::UNIX_EPOCH,
                completed: SystemTime::UNIX_EPOCH + ms(20),
            },
            ms(20),
        );
        timeline.observe(&step("app", 2, "COPY --from=slow /a /a"), ms(3000));
        timeline.observe(
            &Event::StepTimes {
                stage: "app",
                index: 2,
                started: SystemTime::UNIX_EPOCH + ms(3000),
                completed: SystemTime::UNIX_EPOCH + ms(3100),
            },
            ms(3100),
        );
        let app = &timeline.stages()[0];
        assert_eq!((app.start(), app.end()), (ms(3000), ms(3100)));
        assert_eq!(app.steps[0].end, Some(ms(20)));
        assert_eq!(app.busy(), ms(100), "its FROM is not its time");
    }

    #[test]
    fn with_the_builders_times_a_stage_waiting_between_steps_is_not_busy() {
        let start = SystemTime::UNIX_EPOCH;
        let mut timeline = Timeline::new(start);
        let times = [(2, 100, 400), (3, 300, 500), (4, 2000, 2100)];
        for (index, from, to) in times {
            timeline.observe(&step("runtime", index, "RUN x"), ms(from));
            timeline.observe(
                &Event::StepTimes {
                    stage: "runtime",
                    index,
                    started: start + ms(from),
                    completed: start + ms(to),
                },
                ms(to),
            );
        }
        let runtime = &timeline.stages()[0];
        assert_eq!((runtime.start(), runtime.end()), (ms(100), ms(2100)));
        assert_eq!(runtime.busy(), ms(400 + 100), "overlaps counted once");
    }
}
