//! The corpus's `projects/manifest.json`: which projects there are, how
//! `docker build` builds each (tag, context, Dockerfile, build args,
//! target) and the smoke test of its image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub projects: Vec<ProjectEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProjectEntry {
    pub name: String,
    pub dir: String,
    /// The classic builder rejects it (RUN --mount, heredocs, `# syntax=`).
    #[serde(default)]
    pub buildkit_only: bool,
    pub builds: Vec<BuildEntry>,
    pub smoke: Option<Smoke>,
}

/// One `docker build` of a project, in the order they must run (a later
/// build may take an earlier one's tag as a build argument).
#[derive(Debug, Clone, Deserialize)]
pub struct BuildEntry {
    pub tag: String,
    /// Relative to the project directory.
    pub context: String,
    /// Relative to the project directory.
    pub dockerfile: String,
    #[serde(default)]
    pub build_args: BTreeMap<String, String>,
    /// `--target`; the last stage when absent.
    pub target: Option<String>,
}

/// How to tell the image works: run it and read its output, or talk to
/// the server it starts.
#[derive(Debug, Clone, Deserialize)]
pub struct Smoke {
    #[serde(rename = "type")]
    pub kind: SmokeKind,
    /// The tag of the build whose image is tested.
    pub image: String,
    pub port: Option<u16>,
    pub path: Option<String>,
    pub send: Option<String>,
    pub expect: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmokeKind {
    Run,
    Http,
    Tcp,
}

/// The corpus's projects folder, or `None` when the corpus is missing
/// outside CI (under CI a missing corpus panics in `corpus::root`).
pub fn projects_dir() -> Option<PathBuf> {
    crate::corpus::root().map(|root| root.join("projects"))
}

pub fn load(projects: &Path) -> Manifest {
    let path = projects.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Manifest {
    pub fn project(&self, name: &str) -> &ProjectEntry {
        self.projects
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("manifest.json has no project named {name}"))
    }
}
