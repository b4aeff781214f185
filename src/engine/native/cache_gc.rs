//! The bound on a project's step cache, kept after every native build:
//! the uses the build made are recorded (`cache_usage`), then, when the
//! project's entries take more than the bound, the least recently used go
//! until the rest fits. What the build itself used always stays, and
//! nothing is removed while another build of the project runs (it may be
//! about to use an entry); the last build to finish does it.

use std::collections::BTreeSet;

use super::cache_admin::{
    CacheScope, PruneReport, apply_last_use, compute_own_sizes, list_cache, prune_cache,
    select_for_prune,
};
use super::cache_usage;
use super::engine_api::{OpError, StepEngine};
use crate::engine::build_lock::{OtherBuild, other_builds};
use crate::engine::project_state::ProjectState;

/// The bound when none is given: 5 GiB per project.
pub const DEFAULT_CACHE_MAX: u64 = 5 << 30;

/// What keeping the bound did.
#[derive(Debug, Default)]
pub struct BoundOutcome {
    /// The project's cache after the build (before any removal), bytes.
    pub total: u64,
    pub removed: PruneReport,
    /// Another build of the project was running: nothing was removed.
    pub deferred: bool,
    /// The last-use file could not be written (the bound still holds,
    /// with creation times for the entries it does not know).
    pub warnings: Vec<String>,
}

/// Records `used` and removes the project's least recently used entries
/// beyond `max` bytes (no removal when `max` is `None`).
pub async fn keep_bound<E: StepEngine>(
    engine: &E,
    state: &ProjectState,
    build_id: &str,
    used: &BTreeSet<String>,
    max: Option<u64>,
    now: i64,
) -> Result<BoundOutcome, OpError> {
    let mut outcome = BoundOutcome::default();
    let mut entries = list_cache(engine, CacheScope::Project(state.id())).await?;
    let existing: BTreeSet<String> = entries.iter().map(|e| e.key.clone()).collect();
    let times = cache_usage::record(state, used, now, Some(&existing)).unwrap_or_else(|error| {
        outcome.warnings.push(format!(
            "cannot record cache use in {}: {error}",
            state.dir().display()
        ));
        cache_usage::read(state)
    });
    apply_last_use(&mut entries, &times);
    compute_own_sizes(engine, &mut entries).await?;
    outcome.total = entries.iter().map(|e| e.reclaimable()).sum();
    let Some(max) = max else {
        return Ok(outcome);
    };
    if outcome.total <= max {
        return Ok(outcome);
    }
    let running = other_builds(state, build_id)
        .map(|builds| builds.iter().any(|b| matches!(b, OtherBuild::Alive(_))))
        .unwrap_or(true);
    if running {
        outcome.deferred = true;
        return Ok(outcome);
    }
    let chosen = select_for_prune(&entries, Some(max), used);
    outcome.removed = prune_cache(engine, chosen).await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::super::cache_key::{CACHE_KEY_LABEL, CACHE_PROJECT_LABEL, cache_tag};
    use super::super::engine_api::ImageSettings;
    use super::super::fake_engine::{FakeEngine, FakeImage, Node};
    use super::*;
    use crate::engine::build_lock::BuildLock;

    /// An entry of `size` bytes (files), created at `created`.
    fn entry(engine: &FakeEngine, project: &str, name: &str, size: usize, created: i64) {
        let key = format!("sha256:{name}");
        let files = (0..size)
            .map(|n| (format!("/{name}/{n}"), (Node::Dir, 0o755, 0, 0)))
            .collect();
        let mut state = engine.lock();
        state.images.insert(
            name.into(),
            FakeImage {
                files,
                settings: ImageSettings {
                    labels: [
                        (CACHE_KEY_LABEL.to_owned(), key.clone()),
                        (CACHE_PROJECT_LABEL.to_owned(), project.to_owned()),
                    ]
                    .into(),
                    ..ImageSettings::default()
                },
                created,
                parent: String::new(),
            },
        );
        state.tags.insert(cache_tag(project, &key), name.into());
    }

    fn used(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| format!("sha256:{n}")).collect()
    }

    #[tokio::test]
    async fn the_least_recently_used_go_and_what_the_build_used_stays() {
        let (_root, state) = crate::engine::project_state::tests::temporary();
        let engine = FakeEngine::default();
        let project = state.id().to_owned();
        entry(&engine, &project, "a", 10, 1);
        entry(&engine, &project, "b", 10, 2);
        entry(&engine, &project, "c", 10, 3);
        entry(&engine, "another", "d", 10, 0);
        // `a` was used after `b` was made.
        cache_usage::record(&state, &used(&["a"]), 5, None).unwrap();
        let outcome = keep_bound(&engine, &state, "1-a", &used(&["c"]), Some(20), 9)
            .await
            .unwrap();
        assert_eq!(outcome.total, 30);
        let removed: Vec<&str> = outcome
            .removed
            .removed
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(removed, ["b"]);
        let images = engine.lock().images.clone();
        assert!(images.contains_key("a") && images.contains_key("c"));
        assert!(images.contains_key("d"), "another project's entry stays");
        assert_eq!(cache_usage::read(&state).get("sha256:c"), Some(&9));

        // Under the bound, or unbounded, nothing goes.
        let outcome = keep_bound(&engine, &state, "1-a", &used(&[]), None, 10)
            .await
            .unwrap();
        assert!(outcome.removed.removed.is_empty());
        assert_eq!(outcome.total, 20);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn nothing_goes_while_another_build_of_the_project_runs() {
        let (_root, state) = crate::engine::project_state::tests::temporary();
        let engine = FakeEngine::default();
        let project = state.id().to_owned();
        entry(&engine, &project, "a", 10, 1);
        entry(&engine, &project, "b", 10, 2);
        let running = BuildLock::acquire(&state, "2-b").unwrap();
        let outcome = keep_bound(&engine, &state, "1-a", &used(&[]), Some(0), 9)
            .await
            .unwrap();
        assert!(outcome.deferred);
        assert_eq!(engine.lock().images.len(), 2);
        running.release();
        let outcome = keep_bound(&engine, &state, "1-a", &used(&[]), Some(0), 9)
            .await
            .unwrap();
        assert_eq!(outcome.removed.removed.len(), 2);
    }
}
