//! A project as the Engine and the host see it between builds: its id
//! (which scopes the step cache and the leftovers of its builds) and its
//! state directory `.stages/` beside stages.toml (build locks, when cache
//! entries were last used).
//!
//! The id is derived from the canonical path of the directory holding
//! stages.toml, not from `[project] name`: a name is optional and two
//! checkouts of one repository share it, yet each checkout must list,
//! prune and bound only its own cache. Moving the directory starts a new
//! cache; the old one is still listed and pruned with `--all`.

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Hex digits of the id: 64 bits, plenty for the projects of one Engine.
const ID_LEN: usize = 16;
/// The state directory's name, beside stages.toml.
pub const STATE_DIR: &str = ".stages";

/// A project's id and state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectState {
    id: String,
    dir: PathBuf,
}

impl ProjectState {
    /// The project whose stages.toml is in `config_dir`.
    pub fn for_config_dir(config_dir: &Path) -> io::Result<Self> {
        let canonical = config_dir.canonicalize()?;
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        let mut id = hex::encode(digest);
        id.truncate(ID_LEN);
        Ok(Self {
            id,
            dir: canonical.join(STATE_DIR),
        })
    }

    /// Lowercase hex: valid in an image repository name and a label.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `.stages/`, which may not exist yet.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `.stages/` and `sub` in it, created when missing; `.stages/` gets a
    /// `.gitignore` so that its files stay out of version control.
    pub fn ensure(&self, sub: &str) -> io::Result<PathBuf> {
        let path = self.dir.join(sub);
        std::fs::create_dir_all(&path)?;
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(
                ignore,
                "# Written by stages: build state, not sources.\n*\n",
            )?;
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_follows_the_canonical_directory() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("a");
        let b = root.path().join("b");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let id_a = ProjectState::for_config_dir(&a).unwrap();
        assert_eq!(id_a.id().len(), ID_LEN);
        assert!(id_a.id().bytes().all(|c| c.is_ascii_hexdigit()));
        // The same directory by another spelling is the same project.
        let dotted = ProjectState::for_config_dir(&b.join("../a")).unwrap();
        assert_eq!(dotted, id_a);
        assert_ne!(ProjectState::for_config_dir(&b).unwrap().id(), id_a.id());
        assert!(ProjectState::for_config_dir(&root.path().join("missing")).is_err());
    }

    #[test]
    fn the_state_directory_ignores_itself() {
        let root = tempfile::tempdir().unwrap();
        let state = ProjectState::for_config_dir(root.path()).unwrap();
        let builds = state.ensure("builds").unwrap();
        assert!(builds.is_dir());
        let ignore = std::fs::read_to_string(state.dir().join(".gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "*"));
    }
}
