//! Files later stages copy out of a stage, read from the container of the
//! stage's last RUN while the Engine commits it. Read later, they would
//! cost a container created from the committed image, a download and a
//! removal on the way of the stage that copies them; read here, the
//! download overlaps the commit. The container's files are the image's:
//! the commit takes them as they are, so the tars are the same.
//!
//! Only what is known before the build is read early: paths with no
//! variables, copied by a stage of this build. A RUN with mounts (their
//! contents are not the image's) or a build under `SOURCE_DATE_EPOCH` (its
//! commit first rewrites file times) reads nothing early, and neither does
//! a path holding the files the Engine manages in a container (`/etc/hosts`
//! and the like). A tar not read early, or not read for the image asked
//! for, is read the ordinary way.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use super::copy::absolute_dest;
use super::engine_api::{OpError, StepEngine};
use super::group_container::within;
use super::pathmatch::has_wildcard;
use super::source_link::download_followed;
use crate::config::model::{CopyFrom, Project, StepKind};

/// Files the Engine puts into a started container and not into its image.
const ENGINE_MANAGED: &[&str] = &[
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/.dockerenv",
];

/// File systems a container gets at start.
const RUNTIME_MOUNTS: &[&str] = &["/dev", "/proc", "/sys"];

/// What the stages of one build copy out of each other, and the tars read
/// early for it.
#[derive(Debug, Default)]
pub struct EarlyFetch {
    /// Stage → the absolute paths stages of the build copy out of it.
    wanted: BTreeMap<String, Vec<String>>,
    /// (image, path) → the tar of `path` in the container `image` was
    /// committed from; taken by the first copy that asks.
    fetched: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl EarlyFetch {
    /// The paths the `stages` of `project` copy out of one another.
    pub fn plan(project: &Project, stages: &[String]) -> Self {
        let building: BTreeSet<&str> = stages.iter().map(String::as_str).collect();
        let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut want = |stage: &str, source: &str| {
            if building.contains(stage) && !source.contains('$') && !has_wildcard(source) {
                let path = absolute_dest("/", source);
                if readable_early(&path) {
                    wanted.entry(stage.to_owned()).or_default().insert(path);
                }
            }
        };
        for stage in project
            .stages
            .iter()
            .filter(|s| building.contains(s.name.value.as_str()))
        {
            for step in &stage.steps {
                match &step.kind {
                    StepKind::Copy(copy) => {
                        if let Some(CopyFrom::Stage(from)) = &copy.from {
                            for source in &copy.sources {
                                want(&from.value, &source.value);
                            }
                        }
                    }
                    StepKind::Artifact(copy) => {
                        if let Some(artifact) = project.artifact(&copy.artifact.value) {
                            want(&artifact.stage.value, &artifact.path.value);
                        }
                    }
                    _ => {}
                }
            }
        }
        Self {
            wanted: wanted
                .into_iter()
                .map(|(stage, paths)| (stage, paths.into_iter().collect()))
                .collect(),
            fetched: Mutex::default(),
        }
    }

    /// The paths to read early from the last RUN of `stage`.
    pub fn wanted(&self, stage: &str) -> &[String] {
        self.wanted.get(stage).map_or(&[], Vec::as_slice)
    }

    /// Keep the tars read from the container `image` was committed from.
    pub fn keep(&self, image: &str, tars: Vec<(String, Vec<u8>)>) {
        let mut fetched = self.lock();
        for (path, tar) in tars {
            fetched.insert((image.to_owned(), path), tar);
        }
    }

    /// The tars of `paths` in `image`, when every one was read early.
    pub fn take(&self, image: &str, paths: &[String]) -> Option<Vec<Vec<u8>>> {
        let mut fetched = self.lock();
        let all_there = paths
            .iter()
            .all(|path| fetched.contains_key(&(image.to_owned(), path.clone())));
        if !all_there {
            return None;
        }
        paths
            .iter()
            .map(|path| fetched.remove(&(image.to_owned(), path.clone())))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Vec<u8>>> {
        match self.fetched.lock() {
            Ok(fetched) => fetched,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Whether a copy of `path` reads the same from a stopped RUN container
/// as from a container of its image.
fn readable_early(path: &str) -> bool {
    !ENGINE_MANAGED.iter().any(|managed| within(managed, path))
        && !RUNTIME_MOUNTS
            .iter()
            .any(|mount| within(path, mount) || within(mount, path))
}

/// The tars of `paths` in `container`, read at once.
pub async fn read<E: StepEngine>(
    engine: &E,
    container: &str,
    paths: &[String],
) -> Result<Vec<(String, Vec<u8>)>, OpError> {
    let reads = paths.iter().map(|path| async move {
        download_followed(engine, container, path)
            .await
            .map(|tar| (path.clone(), tar))
    });
    futures_util::future::try_join_all(reads).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_the_engine_fills_in_a_container_are_not_read_early() {
        assert!(readable_early("/out"));
        assert!(readable_early("/etc/ssl/certs/ca-certificates.crt"));
        assert!(!readable_early("/"));
        assert!(!readable_early("/etc"));
        assert!(!readable_early("/etc/hosts"));
        assert!(!readable_early("/dev/null"));
        assert!(!readable_early("/proc"));
    }

    #[test]
    fn a_tar_is_taken_once_and_only_for_its_image() {
        let early = EarlyFetch::default();
        early.keep(
            "img",
            vec![("/out".to_owned(), vec![1]), ("/b".to_owned(), vec![2])],
        );
        assert_eq!(early.take("other", &["/out".to_owned()]), None);
        assert_eq!(
            early.take("img", &["/out".to_owned(), "/c".to_owned()]),
            None
        );
        assert_eq!(early.take("img", &["/out".to_owned()]), Some(vec![vec![1]]));
        assert_eq!(early.take("img", &["/out".to_owned()]), None);
    }
}
