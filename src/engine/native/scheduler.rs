//! The stage scheduler: one task per needed stage, started as soon as the
//! stages it depends on are done, at most `jobs` at once.
//!
//! On a failure it starts nothing new and aborts the running stages, or,
//! with `keep_going`, lets every stage that does not depend on the failure
//! finish. Every failure is reported. Aborted tasks are dropped, so runners
//! must not rely on reaching their end to clean up: the executor labels
//! everything it creates with the build id and the build removes by label.
//!
//! Generic over `StageRunner`; knows nothing of Docker or of the model.

use std::future::Future;
use std::sync::Arc;

use tokio::task::JoinSet;

/// Runs one stage, given the outputs of the stages it depends on.
pub trait StageRunner: Send + Sync + 'static {
    /// What a finished stage hands to the stages after it (an image id).
    type Output: Clone + Send + Sync + 'static;
    type Error: Send + 'static;

    fn run(
        self: Arc<Self>,
        stage: usize,
        inputs: Vec<(usize, Self::Output)>,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleOptions {
    /// How many stages run at once (at least 1).
    pub jobs: usize,
    /// After a failure, let the stages that do not depend on it finish.
    pub keep_going: bool,
}

impl ScheduleOptions {
    /// `jobs` defaults to twice the number of CPUs: a stage's work runs
    /// in the Engine's containers, and much of it waits (on commits, on
    /// the network, on `sleep`), so on 2 CPUs four independent stages at
    /// once finished a fan-out in 0.79 of the time two at once took
    /// (`docs/benchmarks.md`).
    pub fn new(jobs: Option<usize>, keep_going: bool) -> Self {
        let jobs = jobs
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(2, |n| n.get().saturating_mul(2))
            })
            .max(1);
        Self { jobs, keep_going }
    }
}

/// How one stage ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<O, E> {
    Done(O),
    Failed(E),
    /// Stopped while running because another stage failed.
    Cancelled,
    /// Never started: a stage it needs failed, or the build stopped first.
    NotRun,
}

impl<O, E> Outcome<O, E> {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done(_))
    }
}

type Finished<R> = (
    usize,
    Result<<R as StageRunner>::Output, <R as StageRunner>::Error>,
);

/// Run every stage of `deps` (stage `i` needs the stages `deps[i]`) and
/// return one outcome per stage, in the same order.
pub async fn run_stages<R: StageRunner>(
    runner: Arc<R>,
    deps: &[Vec<usize>],
    options: ScheduleOptions,
) -> Vec<Outcome<R::Output, R::Error>> {
    let count = deps.len();
    let mut outcomes: Vec<Option<Outcome<R::Output, R::Error>>> =
        (0..count).map(|_| None).collect();
    let mut waiting_on: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (stage, needs) in deps.iter().enumerate() {
        for &need in needs {
            if need < count {
                dependents[need].push(stage);
            }
        }
    }
    let mut ready: Vec<usize> = (0..count).filter(|&s| waiting_on[s] == 0).collect();
    ready.reverse();
    let mut running: JoinSet<Finished<R>> = JoinSet::new();
    let mut running_ids = std::collections::BTreeMap::new();
    let mut stopping = false;

    loop {
        while !stopping && running.len() < options.jobs {
            let Some(stage) = ready.pop() else { break };
            let inputs = deps[stage]
                .iter()
                .filter_map(|&need| match outcomes.get(need) {
                    Some(Some(Outcome::Done(output))) => Some((need, output.clone())),
                    _ => None,
                })
                .collect();
            let runner = Arc::clone(&runner);
            let handle = running.spawn(async move { (stage, runner.run(stage, inputs).await) });
            running_ids.insert(handle.id(), stage);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (stage, result) = match joined {
            Ok((id, (stage, result))) => {
                running_ids.remove(&id);
                (stage, result)
            }
            Err(error) => {
                // A cancelled or panicking task: mark it and stop as after a failure.
                if let Some(stage) = running_ids.remove(&error.id()) {
                    outcomes[stage] = Some(Outcome::Cancelled);
                }
                if !options.keep_going {
                    stopping = true;
                    running.abort_all();
                }
                continue;
            }
        };
        match result {
            Ok(output) => {
                outcomes[stage] = Some(Outcome::Done(output));
                for &next in &dependents[stage] {
                    waiting_on[next] -= 1;
                    if waiting_on[next] == 0 {
                        ready.insert(0, next);
                    }
                }
            }
            Err(error) => {
                outcomes[stage] = Some(Outcome::Failed(error));
                if !options.keep_going {
                    stopping = true;
                    running.abort_all();
                }
            }
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or(Outcome::NotRun))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Event {
        Start(usize),
        Finish(usize),
    }

    /// A runner that yields `work[stage]` times, fails the stages listed in
    /// `failing`, and records events and the peak number running at once.
    struct FakeRunner {
        work: Vec<usize>,
        failing: Vec<usize>,
        events: Mutex<Vec<Event>>,
        running: AtomicUsize,
        peak: AtomicUsize,
    }

    impl FakeRunner {
        fn new(work: Vec<usize>, failing: Vec<usize>) -> Arc<Self> {
            Arc::new(Self {
                work,
                failing,
                events: Mutex::new(Vec::new()),
                running: AtomicUsize::new(0),
                peak: AtomicUsize::new(0),
            })
        }

        fn events(&self) -> Vec<Event> {
            self.events.lock().map(|e| e.clone()).unwrap_or_default()
        }

        fn position(&self, event: &Event) -> Option<usize> {
            self.events().iter().position(|e| e == event)
        }
    }

    impl StageRunner for FakeRunner {
        type Output = String;
        type Error = String;

        async fn run(
            self: Arc<Self>,
            stage: usize,
            inputs: Vec<(usize, String)>,
        ) -> Result<String, String> {
            if let Ok(mut events) = self.events.lock() {
                events.push(Event::Start(stage));
            }
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            for _ in 0..self.work[stage] {
                tokio::task::yield_now().await;
            }
            self.running.fetch_sub(1, Ordering::SeqCst);
            if let Ok(mut events) = self.events.lock() {
                events.push(Event::Finish(stage));
            }
            if self.failing.contains(&stage) {
                return Err(format!("stage {stage} failed"));
            }
            let inputs: Vec<String> = inputs.into_iter().map(|(_, o)| o).collect();
            Ok(format!("{stage}({})", inputs.join(",")))
        }
    }

    fn options(jobs: usize, keep_going: bool) -> ScheduleOptions {
        ScheduleOptions { jobs, keep_going }
    }

    #[tokio::test]
    async fn stages_start_after_their_dependencies_and_get_their_outputs() {
        // 0 → 2, 1 → 2, 2 → 3
        let deps = vec![vec![], vec![], vec![0, 1], vec![2]];
        let runner = FakeRunner::new(vec![3, 5, 2, 1], vec![]);
        let outcomes = run_stages(Arc::clone(&runner), &deps, options(4, false)).await;
        assert_eq!(outcomes[3], Outcome::Done("3(2(0(),1()))".into()));
        for (stage, needs) in deps.iter().enumerate() {
            let start = runner.position(&Event::Start(stage)).unwrap();
            for need in needs {
                assert!(runner.position(&Event::Finish(*need)).unwrap() < start);
            }
        }
        assert_eq!(runner.peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn jobs_bound_how_many_stages_run_at_once() {
        let deps = vec![vec![]; 7];
        for jobs in [1, 2, 3, 10] {
            let runner = FakeRunner::new(vec![4; 7], vec![]);
            let outcomes = run_stages(Arc::clone(&runner), &deps, options(jobs, false)).await;
            assert!(outcomes.iter().all(Outcome::is_done));
            assert_eq!(
                runner.peak.load(Ordering::SeqCst),
                jobs.min(7),
                "jobs {jobs}"
            );
        }
    }

    #[tokio::test]
    async fn a_stage_starts_as_soon_as_its_own_dependencies_are_done() {
        // 0 (quick) → 2; 1 is slow and unrelated.
        let deps = vec![vec![], vec![], vec![0]];
        let runner = FakeRunner::new(vec![1, 50, 1], vec![]);
        run_stages(Arc::clone(&runner), &deps, options(3, false)).await;
        let started = runner.position(&Event::Start(2)).unwrap();
        let slow_done = runner.position(&Event::Finish(1)).unwrap();
        assert!(started < slow_done, "{:?}", runner.events());
    }

    #[tokio::test]
    async fn a_failure_cancels_running_stages_and_starts_no_more() {
        // 0 fails quickly; 1 is running and slow; 2 needs 1; 3 waits for a slot.
        let deps = vec![vec![], vec![], vec![1], vec![]];
        let runner = FakeRunner::new(vec![1, 50, 1, 1], vec![0]);
        let outcomes = run_stages(Arc::clone(&runner), &deps, options(2, false)).await;
        assert_eq!(outcomes[0], Outcome::Failed("stage 0 failed".into()));
        assert_eq!(outcomes[1], Outcome::Cancelled);
        assert_eq!(outcomes[2], Outcome::NotRun);
        assert_eq!(outcomes[3], Outcome::NotRun);
        assert_eq!(runner.position(&Event::Finish(1)), None);
    }

    #[tokio::test]
    async fn keep_going_finishes_independent_branches_and_reports_every_failure() {
        // 0 fails → 2 never runs; 1 fails; 3 → 4 finish.
        let deps = vec![vec![], vec![], vec![0], vec![], vec![3]];
        let runner = FakeRunner::new(vec![1, 3, 1, 5, 1], vec![0, 1]);
        let outcomes = run_stages(Arc::clone(&runner), &deps, options(2, true)).await;
        assert_eq!(outcomes[0], Outcome::Failed("stage 0 failed".into()));
        assert_eq!(outcomes[1], Outcome::Failed("stage 1 failed".into()));
        assert_eq!(outcomes[2], Outcome::NotRun);
        assert_eq!(outcomes[3], Outcome::Done("3()".into()));
        assert_eq!(outcomes[4], Outcome::Done("4(3())".into()));
    }

    #[tokio::test]
    async fn stages_in_a_cycle_never_run() {
        let deps = vec![vec![1], vec![0], vec![]];
        let runner = FakeRunner::new(vec![1, 1, 1], vec![]);
        let outcomes = run_stages(runner, &deps, options(2, false)).await;
        assert_eq!(outcomes[0], Outcome::NotRun);
        assert_eq!(outcomes[1], Outcome::NotRun);
        assert!(outcomes[2].is_done());
    }

    #[test]
    fn jobs_default_to_twice_the_cpus_and_at_least_one() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(ScheduleOptions::new(None, false).jobs, cpus * 2);
        assert_eq!(ScheduleOptions::new(Some(0), false).jobs, 1);
    }
}
