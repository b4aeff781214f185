//! What a build record holds: per stage its base, per step the inputs of
//! the step's cache key as a person would name them (the text, the args
//! and environment in scope, each context file's path and content digest,
//! the images of the stages it reads) and whether it came from the cache.
//! Plain data, serialised as JSON; no back end's types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped when the meaning of a field changes: an older record is then
/// read as no record.
pub const RECORD_VERSION: u32 = 1;

/// Files listed per step; beyond it only the step's overall digest tells
/// that its files changed.
pub const MAX_FILES_PER_STEP: usize = 2_000;

/// One `stages build`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    pub version: u32,
    /// Seconds since the Unix epoch when the build ended.
    pub finished: u64,
    /// The back end that ran the steps (`native`, `buildkit`).
    pub backend: String,
    pub targets: Vec<String>,
    /// `--no-cache` was given.
    pub no_cache: bool,
    /// sha256 of the context's `.dockerignore`, `None` without one.
    pub dockerignore: Option<String>,
    pub stages: BTreeMap<String, StageRecord>,
}

/// One stage of a build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    pub base: BaseRecord,
    /// `--no-cache` or `--no-cache-filter` applied to the stage.
    pub no_cache: bool,
    /// `false` when the build did not build the stage and the record
    /// carries what an earlier build recorded of it.
    pub built: bool,
    pub steps: Vec<StepRecord>,
}

/// Where a stage starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRecord {
    /// The image reference as expanded (`golang:1.22`), `scratch`, or the
    /// name of the stage it starts from.
    pub name: String,
    /// `name` is a stage of the project.
    pub stage: bool,
    /// The image id the stage started from.
    pub image: String,
}

/// One step that has a cache key (settings-only steps have none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Position among the stage's steps (the image configuration last).
    pub index: usize,
    /// The canonical text, as progress shows it.
    pub text: String,
    /// The words after expansion, when they differ from `text` (copies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expanded: Option<String>,
    pub key: String,
    /// The image (or, inside a group of copies, the key) it starts from.
    pub parent: String,
    pub cached: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Build args the step sees.
    pub args: BTreeMap<String, String>,
    /// The environment in effect, in image order.
    pub env: Vec<(String, String)>,
    pub settings: SettingsRecord,
    /// Context files it reads, sorted by path (at most
    /// `MAX_FILES_PER_STEP`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRecord>,
    /// How many files it reads, listed or not.
    #[serde(default)]
    pub file_count: usize,
    /// Digest of everything it reads from the context (paths, modes,
    /// owners, links and contents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_digest: Option<String>,
    /// Images of stages or other images it reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<UpstreamRecord>,
    /// Other digests in its key (bind-mounted context, created workdirs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_inputs: Vec<String>,
    /// Why it did not come from the cache (empty when it did).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// The image settings a step starts with that people change by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsRecord {
    pub workdir: String,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// Digest of every setting, including these.
    pub digest: String,
}

/// A context file a step reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Relative to the context root, `/`-separated.
    pub path: String,
    /// Content digest (hex), or `link:<target>` for a symbolic link.
    pub digest: String,
}

/// An image a step reads from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamRecord {
    /// The stage, or the image reference, it names.
    pub name: String,
    pub stage: bool,
    pub image: String,
    /// How the step reads it (`COPY --from=builder`).
    pub via: String,
}

impl StepRecord {
    /// Keep `files` within the bound, noting how many there were.
    pub fn set_files(&mut self, mut files: Vec<FileRecord>) {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        self.file_count = files.len();
        files.truncate(MAX_FILES_PER_STEP);
        self.files = files;
    }

    /// Every file it reads is listed.
    pub fn lists_every_file(&self) -> bool {
        self.files.len() == self.file_count
    }
}
