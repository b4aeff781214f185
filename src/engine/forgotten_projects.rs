//! State directories of projects whose directory is gone. A project's
//! state lives outside it (`project_state`), so deleting or moving a
//! checkout leaves its build locks, cache-use times and build records
//! behind for good. `stages cache prune --all` removes them once nothing
//! of the project is left to account for: no cached step on the Engine
//! (those are still listed under the project's id and pruned by it) and
//! no build running.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use super::build_lock::{OtherBuild, other_builds};
use super::client::Engine;
use super::leftovers::sweep_dead_builds;
use super::project_state::{ProjectState, recorded_project};

/// A project whose recorded directory no longer exists.
#[derive(Debug)]
pub struct ForgottenProject {
    pub state: ProjectState,
}

/// What one pass removed, and what it kept and why.
#[derive(Debug, Default)]
pub struct ForgottenSweep {
    /// The removed projects' recorded directories.
    pub removed: Vec<PathBuf>,
    pub kept: Vec<(PathBuf, &'static str)>,
    pub errors: Vec<String>,
}

/// The projects under `root` whose recorded directory is certainly gone.
/// A directory that cannot be checked (no permission, a stale mount) is
/// not gone: only "not found" counts.
pub fn forgotten_projects(root: &Path) -> io::Result<Vec<ForgottenProject>> {
    let entries = match std::fs::read_dir(root.join("projects")) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(id) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(state) = recorded_project(root, &id) else {
            continue;
        };
        let gone = matches!(
            std::fs::symlink_metadata(state.project_dir()),
            Err(error) if error.kind() == io::ErrorKind::NotFound
        );
        if gone {
            found.push(ForgottenProject { state });
        }
    }
    found.sort_by(|a, b| a.state.id().cmp(b.state.id()));
    Ok(found)
}

/// Removes the state of each forgotten project that has no cached step
/// left (`cached_projects` holds the ids that still have some) and no
/// running build; a dead build's containers go first.
pub async fn sweep_forgotten_projects<E: Engine>(
    engine: &E,
    root: &Path,
    cached_projects: &BTreeSet<String>,
) -> ForgottenSweep {
    let mut sweep = ForgottenSweep::default();
    let projects = match forgotten_projects(root) {
        Ok(projects) => projects,
        Err(error) => {
            sweep
                .errors
                .push(format!("cannot read {}: {error}", root.display()));
            return sweep;
        }
    };
    for ForgottenProject { state } in projects {
        let path = state.project_dir().to_owned();
        if cached_projects.contains(state.id()) {
            sweep.kept.push((path, "it still has cached steps"));
            continue;
        }
        let leftovers = sweep_dead_builds(engine, &state, &[], "").await;
        if leftovers.running_builds > 0 {
            sweep.kept.push((path, "a build of it is running"));
            continue;
        }
        if !leftovers.errors.is_empty() {
            sweep.errors.extend(leftovers.errors);
            continue;
        }
        match remove_unless_building(&state) {
            Ok(true) => sweep.removed.push(path),
            Ok(false) => sweep.kept.push((path, "a build of it started")),
            Err(error) => sweep
                .errors
                .push(format!("cannot remove {}: {error}", state.dir().display())),
        }
    }
    sweep
}

/// A build started between the sweep and here holds a lock: keep it.
fn remove_unless_building(state: &ProjectState) -> io::Result<bool> {
    let running = other_builds(state, "")?
        .iter()
        .any(|build| matches!(build, OtherBuild::Alive(_)));
    if running {
        return Ok(false);
    }
    std::fs::remove_dir_all(state.dir())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;

    fn project(root: &Path, name: &str) -> (PathBuf, ProjectState) {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let state = ProjectState::under(&dir, &root.join("state")).unwrap();
        state.ensure("builds").unwrap();
        (dir, state)
    }

    #[test]
    fn only_projects_whose_directory_is_gone_are_forgotten() {
        let root = tempfile::tempdir().unwrap();
        let (kept_dir, _) = project(root.path(), "kept");
        let (gone_dir, gone) = project(root.path(), "gone");
        std::fs::remove_dir_all(&gone_dir).unwrap();
        // Not a project's state: no record of a directory.
        std::fs::create_dir_all(root.path().join("state/projects/0123456789abcdef")).unwrap();
        std::fs::create_dir_all(root.path().join("state/projects/not-an-id")).unwrap();
        let forgotten = forgotten_projects(&root.path().join("state")).unwrap();
        assert_eq!(forgotten.len(), 1, "{forgotten:?}");
        assert_eq!(forgotten[0].state.id(), gone.id());
        assert!(kept_dir.exists());
    }

    #[tokio::test]
    async fn a_forgotten_project_with_cached_steps_keeps_its_state() {
        let root = tempfile::tempdir().unwrap();
        let state_root = root.path().join("state");
        let (cached_dir, cached) = project(root.path(), "cached");
        let (gone_dir, gone) = project(root.path(), "gone");
        std::fs::remove_dir_all(&cached_dir).unwrap();
        std::fs::remove_dir_all(&gone_dir).unwrap();
        let engine = FakeEngine::default();
        let still_cached = BTreeSet::from([cached.id().to_owned()]);
        let sweep = sweep_forgotten_projects(&engine, &state_root, &still_cached).await;
        assert!(sweep.errors.is_empty(), "{:?}", sweep.errors);
        assert_eq!(sweep.removed.len(), 1);
        assert!(sweep.removed[0].ends_with("gone"));
        assert!(!gone.dir().exists());
        assert!(cached.dir().exists());
        assert_eq!(sweep.kept.len(), 1);
        assert_eq!(sweep.kept[0].1, "it still has cached steps");
    }

    #[tokio::test]
    async fn a_forgotten_project_with_a_running_build_keeps_its_state() {
        let root = tempfile::tempdir().unwrap();
        let (dir, state) = project(root.path(), "busy");
        let lock = crate::engine::build_lock::BuildLock::acquire(&state, "1-ab").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let engine = FakeEngine::default();
        let sweep =
            sweep_forgotten_projects(&engine, &root.path().join("state"), &BTreeSet::new()).await;
        assert!(sweep.removed.is_empty());
        assert_eq!(sweep.kept[0].1, "a build of it is running");
        assert!(state.dir().exists());
        lock.release();
    }
}
