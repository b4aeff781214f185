//! What dead builds of a project left behind: a build killed outright
//! (SIGKILL, a crash, a power cut) cannot remove its containers or its
//! artifact staging directories. The next build of the project, and
//! `stages cache prune`, find them by the dead build's id — the
//! `dev.stages.build` label on its containers, the name of its
//! `.stages-export-<build id>-…` directories — and remove them. A build
//! counts as dead only when its lock file is not held (`build_lock`), so a
//! build running at the same time keeps everything.

use std::path::{Path, PathBuf};

use super::build_lock::{OtherBuild, other_builds};
use super::client::Engine;
use super::extract::STAGING_PREFIX;
use super::image_labels::BUILD;
use super::interrupt::remove_until_gone;
use super::project_state::ProjectState;
use crate::config::model::{Project, TargetKind};

/// What a sweep removed, and what it could not.
#[derive(Debug, Default)]
pub struct Leftovers {
    /// Builds found dead.
    pub dead_builds: Vec<String>,
    pub containers: Vec<String>,
    pub staging_dirs: Vec<PathBuf>,
    /// Builds still running: nothing of theirs was touched.
    pub running_builds: usize,
    pub errors: Vec<String>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.staging_dirs.is_empty() && self.errors.is_empty()
    }

    /// `removed 2 containers and 1 staging directory of 1 dead build`.
    pub fn summary(&self) -> String {
        format!(
            "removed {} and {} left by {}",
            count(self.containers.len(), "container"),
            count(self.staging_dirs.len(), "staging directory"),
            count(self.dead_builds.len(), "dead build"),
        )
    }
}

fn count(n: usize, what: &str) -> String {
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {what}s"),
    }
}

/// The directories staging directories of `project`'s artifact targets
/// are made in: each output directory's parent, and the directory itself
/// (where an output that is the project directory stages).
pub fn staging_parents(config_dir: &Path, project: &Project) -> Vec<PathBuf> {
    let mut parents: Vec<PathBuf> = project
        .targets
        .iter()
        .filter_map(|target| match &target.kind {
            // Staged beside the output directory, or inside it when
            // the output is the project directory itself.
            TargetKind::Artifacts { output, .. } => {
                let dir = config_dir.join(&output.value);
                let parent = match dir.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                    _ => PathBuf::from("."),
                };
                Some([parent, dir])
            }
            TargetKind::Image { .. } => None,
        })
        .flatten()
        .collect();
    parents.sort();
    parents.dedup();
    parents
}

/// Removes the containers and staging directories of every dead build of
/// the project (never `own_id`'s, never a running build's).
pub async fn sweep_dead_builds<E: Engine>(
    engine: &E,
    state: &ProjectState,
    staging_parents: &[PathBuf],
    own_id: &str,
) -> Leftovers {
    let mut found = Leftovers::default();
    let builds = match other_builds(state, own_id) {
        Ok(builds) => builds,
        Err(error) => {
            found.errors.push(format!(
                "cannot read {}: {error}",
                state.dir().join("builds").display()
            ));
            return found;
        }
    };
    for build in builds {
        let dead = match build {
            OtherBuild::Alive(_) => {
                found.running_builds += 1;
                continue;
            }
            OtherBuild::Dead(dead) => dead,
        };
        let before = found.errors.len();
        match engine.containers_labelled(BUILD, dead.id()).await {
            Ok(containers) => {
                for container in containers {
                    match remove_until_gone(engine, &container).await {
                        Ok(()) => found.containers.push(container),
                        Err(error) => found.errors.push(error.to_string()),
                    }
                }
            }
            Err(error) => found.errors.push(error.to_string()),
        }
        for parent in staging_parents {
            remove_staging_dirs(parent, dead.id(), &mut found);
        }
        found.dead_builds.push(dead.id().to_owned());
        // Kept for the next sweep while anything of it is left.
        if found.errors.len() == before
            && let Err(error) = dead.forget()
        {
            found.errors.push(error.to_string());
        }
    }
    found
}

fn remove_staging_dirs(parent: &Path, build_id: &str, found: &mut Leftovers) {
    let prefix = format!("{STAGING_PREFIX}{build_id}-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let owned = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(&prefix));
        // Never through a link: only a real directory of that name goes.
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if !owned || !is_dir {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_dir_all(&path) {
            Ok(()) => found.staging_dirs.push(path),
            Err(error) => found
                .errors
                .push(format!("cannot remove {}: {error}", path.display())),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::engine::build_lock::BuildLock;
    use crate::engine::fake::FakeEngine;

    #[tokio::test]
    async fn a_dead_builds_leftovers_go_and_a_running_builds_stay() {
        let (root, state) = crate::engine::project_state::tests::temporary();
        let builds = state.ensure("builds").unwrap();
        std::fs::write(builds.join("7-dead.lock"), "pid=7\n").unwrap();
        let alive = BuildLock::acquire(&state, "8-a11e").unwrap();
        let out = root.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        for name in [
            ".stages-export-7-dead-x1",
            ".stages-export-8-a11e-x2",
            ".stages-export-7-deadbeef-x3",
            ".stages-export-abc123",
        ] {
            std::fs::create_dir_all(out.join(name).join("f")).unwrap();
        }
        let engine = FakeEngine::default();
        engine.add_container("c-dead", BUILD, "7-dead");
        engine.add_container("c-alive", BUILD, "8-a11e");
        let found = sweep_dead_builds(&engine, &state, std::slice::from_ref(&out), "9-me").await;
        assert_eq!(found.containers, ["c-dead"]);
        assert_eq!(found.staging_dirs, [out.join(".stages-export-7-dead-x1")]);
        assert_eq!(found.dead_builds, ["7-dead"]);
        assert_eq!(found.running_builds, 1);
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        assert_eq!(engine.container_ids(), ["c-alive"]);
        let mut left: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                ".stages-export-7-deadbeef-x3",
                ".stages-export-8-a11e-x2",
                ".stages-export-abc123"
            ]
        );
        assert!(!builds.join("7-dead.lock").exists());
        assert_eq!(
            found.summary(),
            "removed 1 container and 1 staging directory left by 1 dead build"
        );
        alive.release();
    }

    #[test]
    fn staging_parents_are_the_output_directories_parents() {
        let outcome = crate::check::check(&crate::diagnostics::SourceFile::new(
            "stages.toml",
            r#"
[stages.s]
from = "busybox"

[artifacts.a]
stage = "s"
path = "/a"

[targets.one]
artifacts = ["a"]
output = "dist/one"

[targets.two]
artifacts = ["a"]
output = "dist/two/"

[targets.three]
artifacts = ["a"]
output = "top"
"#,
        ));
        let project = outcome.project.expect("valid project");
        let parents = staging_parents(Path::new("/p"), &project);
        // Each output directory and its parent: `dist/two/` has the parent
        // `dist`, and an output that is the project itself stages inside it.
        assert_eq!(
            parents,
            ["/p", "/p/dist", "/p/dist/one", "/p/dist/two/", "/p/top"].map(PathBuf::from),
        );
    }
}
