//! What `stages build` does with `stages.lock`: with `--locked`, fail
//! before anything is asked of the Engine when the lock does not cover
//! what the build reads, listing every difference; with a lock, build the
//! project pinned to it (images by digest, git refs by commit) and, before
//! the first step, check that every URL still serves the locked bytes.

use std::collections::BTreeMap;

use super::Exit;
use super::common::LoadedProject;
use super::lock::read_lock;
use crate::engine::lock_sources::verify_urls;
use crate::graph::{ProjectGraph, ResolvedTarget};
use crate::lockfile::compare::differences;
use crate::lockfile::pin::pin_project;
use crate::lockfile::reads::{Reads, reads_of};
use crate::lockfile::{LOCK_NAME, Lock};

/// The lock a build uses and what the build reads.
pub struct UsedLock {
    pub lock: Lock,
    pub reads: Reads,
}

/// The project to build (pinned when there is a lock) and the lock used.
pub fn apply_lock(
    loaded: &LoadedProject,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
    locked: bool,
) -> Result<(LoadedProject, Option<UsedLock>), Exit> {
    let Some((_, lock)) = read_lock(&loaded.dir)? else {
        if locked {
            eprintln!(
                "error: --locked: there is no {LOCK_NAME} next to {}\n  help: run `stages lock` to write it",
                loaded.path.display()
            );
            return Err(Exit::Failure);
        }
        return Ok((loaded.clone(), None));
    };
    let reads = reads_of(&loaded.project, targets, build_args);
    if locked {
        let found = differences(&reads, &lock);
        if !found.is_empty() {
            eprintln!(
                "error: --locked: {LOCK_NAME} does not cover what this build reads ({} {}):",
                found.len(),
                if found.len() == 1 {
                    "difference"
                } else {
                    "differences"
                }
            );
            for difference in &found {
                eprintln!("  {difference}");
            }
            eprintln!(
                "  help: run `stages lock` to add what is missing, `stages lock --update` to refresh it"
            );
            return Err(Exit::Failure);
        }
    }
    let project = pin_project(&loaded.project, &lock, targets, build_args);
    let graph = ProjectGraph::new(&project);
    let pinned = LoadedProject {
        project,
        graph,
        ..loaded.clone()
    };
    Ok((pinned, Some(UsedLock { lock, reads })))
}

/// Before the first step: every URL the build adds serves what the lock
/// recorded; otherwise the differences, one line each.
pub async fn check_urls(used: Option<&UsedLock>) -> Result<(), Vec<String>> {
    let Some(used) = used else {
        return Ok(());
    };
    let problems = verify_urls(&used.reads, &used.lock).await;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
