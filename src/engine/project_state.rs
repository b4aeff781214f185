//! A project as the Engine and the host see it between builds: its id
//! (which scopes the step cache and the leftovers of its builds) and its
//! state directory (build locks, when cache entries were last used, the
//! BuildKit back end's record of its solves).
//!
//! The id is derived from the canonical path of the directory holding
//! stages.toml, not from `[project] name`: a name is optional and two
//! checkouts of one repository share it, yet each checkout must list,
//! prune and bound only its own cache. Moving the directory starts a new
//! cache; the old one is still listed and pruned with `--all`.
//!
//! The state lives outside the project, in
//! `$STAGES_STATE_DIR/projects/<id>/` (default `$XDG_STATE_HOME/stages`,
//! else `~/.local/state/stages`): inside, it would be part of the build
//! context, and a lock file that changes with every build would change
//! what `COPY .` reads.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Hex digits of the id: 64 bits, plenty for the projects of one Engine.
const ID_LEN: usize = 16;
/// Holds the project's path, for people (and `cache ls --all`).
const PATH_FILE: &str = "project-path";

/// A project's id and state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectState {
    id: String,
    project_dir: PathBuf,
    dir: PathBuf,
}

impl ProjectState {
    /// The project whose stages.toml is in `config_dir`, with its state
    /// under the user's state directory.
    pub fn for_config_dir(config_dir: &Path) -> io::Result<Self> {
        Self::under(config_dir, &state_root())
    }

    /// The same, with its state under `root`.
    pub fn under(config_dir: &Path, root: &Path) -> io::Result<Self> {
        let canonical = config_dir.canonicalize()?;
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        let mut id = hex::encode(digest);
        id.truncate(ID_LEN);
        Ok(Self {
            dir: root.join("projects").join(&id),
            id,
            project_dir: canonical,
        })
    }

    /// Lowercase hex: valid in an image repository name and a label.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The project's directory, canonical (or as recorded, for a project
    /// found through its state).
    pub fn project_dir(&self) -> &Path {
        &self.project_dir
    }

    /// The state directory, which may not exist yet.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The state directory and `sub` in it, created when missing.
    pub fn ensure(&self, sub: &str) -> io::Result<PathBuf> {
        let path = self.dir.join(sub);
        std::fs::create_dir_all(&path)?;
        let named = self.dir.join(PATH_FILE);
        if !named.exists() {
            let mut text = self.project_dir.to_string_lossy().into_owned();
            text.push('\n');
            std::fs::write(named, text)?;
        }
        Ok(path)
    }
}

/// The directory of project `id` as its state directory under the user's
/// state root records it, if a build of it ran here.
pub fn recorded_path(id: &str) -> Option<PathBuf> {
    recorded_project(&state_root(), id).map(|state| state.project_dir)
}

/// The project whose state is `root/projects/<id>`, as its record names
/// it: its directory may be gone since.
pub fn recorded_project(root: &Path, id: &str) -> Option<ProjectState> {
    if id.len() != ID_LEN || !id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let dir = root.join("projects").join(id);
    let text = std::fs::read_to_string(dir.join(PATH_FILE)).ok()?;
    let project_dir = PathBuf::from(text.strip_suffix('\n')?);
    project_dir.is_absolute().then(|| ProjectState {
        id: id.to_owned(),
        project_dir,
        dir,
    })
}

/// `$STAGES_STATE_DIR`, else `$XDG_STATE_HOME/stages`, else
/// `~/.local/state/stages`, else (no home at all) a directory in the
/// temporary directory.
pub fn state_root() -> PathBuf {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(dir) = from_env("STAGES_STATE_DIR") {
        return dir;
    }
    if let Some(dir) = from_env("XDG_STATE_HOME") {
        return dir.join("stages");
    }
    if let Some(home) = from_env("HOME").or_else(|| from_env("USERPROFILE")) {
        return home.join(".local").join("state").join("stages");
    }
    std::env::temp_dir().join("stages-state")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A project in a temporary directory, with its state in another.
    pub(crate) fn temporary() -> (tempfile::TempDir, ProjectState) {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("project")).unwrap();
        let state =
            ProjectState::under(&root.path().join("project"), &root.path().join("state")).unwrap();
        (root, state)
    }

    #[test]
    fn the_id_follows_the_canonical_directory() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("a");
        let b = root.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let state = root.path().join("state");
        let id_a = ProjectState::under(&a, &state).unwrap();
        assert_eq!(id_a.id().len(), ID_LEN);
        assert!(id_a.id().bytes().all(|c| c.is_ascii_hexdigit()));
        // The same directory by another spelling is the same project.
        let dotted = ProjectState::under(&b.join("../a"), &state).unwrap();
        assert_eq!(dotted, id_a);
        assert_ne!(ProjectState::under(&b, &state).unwrap().id(), id_a.id());
        assert!(ProjectState::under(&root.path().join("missing"), &state).is_err());
    }

    #[test]
    fn the_state_directory_is_outside_the_project_and_names_it() {
        let (root, state) = temporary();
        let builds = state.ensure("builds").unwrap();
        assert!(builds.is_dir());
        assert!(!builds.starts_with(root.path().join("project")));
        let named = std::fs::read_to_string(state.dir().join(PATH_FILE)).unwrap();
        assert!(named.trim_end().ends_with("project"), "{named}");
        assert_eq!(
            std::fs::read_dir(root.path().join("project"))
                .unwrap()
                .count(),
            0,
            "nothing is written into the project"
        );
    }
}
