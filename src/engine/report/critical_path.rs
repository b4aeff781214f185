//! The chain of stages that decided a build's wall time, and how much of
//! the time stages ran side by side. Pure arithmetic over measured start
//! and end times and the stage graph's edges.

use std::collections::HashSet;
use std::time::Duration;

/// A stage as it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran<'a> {
    pub name: &'a str,
    pub start: Duration,
    pub end: Duration,
    /// Its own time: at most `end - start`, less when it waited between steps.
    pub busy: Duration,
    /// The stages it needs (base, copies, mounts, artifacts).
    pub needs: Vec<&'a str>,
}

/// From the stage that ended last, back through the stage it needed that
/// ended last (the one it was waiting for), to a stage that needed none
/// of the stages that ran. Returned first to last.
pub fn critical_path<'a>(ran: &[Ran<'a>]) -> Vec<&'a str> {
    // The last to end; among equals the one seen last.
    let Some(mut current) = ran.iter().max_by_key(|r| r.end) else {
        return Vec::new();
    };
    let mut path = vec![current.name];
    let mut seen: HashSet<&str> = HashSet::from([current.name]);
    loop {
        let gate = current
            .needs
            .iter()
            .filter(|need| !seen.contains(*need))
            .filter_map(|need| ran.iter().find(|r| r.name == *need))
            .max_by_key(|r| r.end);
        let Some(gate) = gate else { break };
        seen.insert(gate.name);
        path.push(gate.name);
        current = gate;
    }
    path.reverse();
    path
}

/// The time from the first stage's start to the last one's end.
pub fn span(ran: &[Ran<'_>]) -> Duration {
    let start = ran.iter().map(|r| r.start).min().unwrap_or_default();
    let end = ran.iter().map(|r| r.end).max().unwrap_or_default();
    end.saturating_sub(start)
}

/// The sum of every stage's own time.
pub fn busy(ran: &[Ran<'_>]) -> Duration {
    ran.iter().map(|r| r.busy).sum()
}

/// Busy time over the span: 1.0 is one stage at a time, 2.0 two on
/// average. `None` when the stages took no measurable time.
pub fn parallelism(ran: &[Ran<'_>]) -> Option<f64> {
    let span = span(ran);
    (!span.is_zero()).then(|| busy(ran).as_secs_f64() / span.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran<'a>(name: &'a str, start: u64, end: u64, needs: &[&'a str]) -> Ran<'a> {
        Ran {
            name,
            start: Duration::from_secs(start),
            end: Duration::from_secs(end),
            busy: Duration::from_secs(end - start),
            needs: needs.to_vec(),
        }
    }

    #[test]
    fn the_path_follows_the_stage_each_waited_for() {
        // base → (deps: 2s, tools: 9s, docs: 1s) → app needs deps and tools.
        let stages = [
            ran("base", 0, 3, &[]),
            ran("deps", 3, 5, &["base"]),
            ran("tools", 3, 12, &["base"]),
            ran("docs", 0, 1, &[]),
            ran("app", 12, 14, &["deps", "tools"]),
        ];
        assert_eq!(critical_path(&stages), ["base", "tools", "app"]);
        assert_eq!(span(&stages), Duration::from_secs(14));
        assert_eq!(busy(&stages), Duration::from_secs(3 + 2 + 9 + 1 + 2));
        let p = parallelism(&stages).unwrap();
        assert!((p - 17.0 / 14.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn a_chain_with_no_overlap_is_the_whole_path_at_parallelism_one() {
        let stages = [
            ran("a", 0, 4, &[]),
            ran("b", 4, 6, &["a"]),
            ran("c", 6, 7, &["b"]),
        ];
        assert_eq!(critical_path(&stages), ["a", "b", "c"]);
        assert_eq!(parallelism(&stages), Some(1.0));
    }

    #[test]
    fn independent_stages_end_the_path_at_the_one_that_ended_last() {
        let stages = [
            ran("x", 0, 9, &[]),
            ran("y", 0, 3, &[]),
            ran("z", 0, 3, &[]),
        ];
        assert_eq!(critical_path(&stages), ["x"]);
        let p = parallelism(&stages).unwrap();
        assert!((p - 15.0 / 9.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn stages_that_did_not_run_and_cycles_do_not_lead_anywhere() {
        let stages = [ran("a", 0, 2, &["b", "gone"]), ran("b", 0, 1, &["a"])];
        assert_eq!(critical_path(&stages), ["b", "a"]);
        assert!(critical_path(&[]).is_empty());
        assert_eq!(parallelism(&[ran("a", 5, 5, &[])]), None);
    }
}
