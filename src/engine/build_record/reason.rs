//! Why a step did not come from the cache, as one sentence each.

use std::fmt;

/// One reason a step re-ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// `--no-cache` (or `--no-cache-filter STAGE`).
    NoCache {
        filter: bool,
    },
    /// No earlier build was recorded.
    FirstBuild,
    /// The earlier build ran on another back end, whose cache is its own.
    OtherBackend {
        before: String,
    },
    /// The earlier build did not build this stage.
    NewStage {
        stage: String,
    },
    /// The stage has a step here the earlier build did not run.
    NewStep,
    /// The step at this place read differently before.
    TextChanged {
        before: String,
    },
    /// The words expanded differently (an arg or env value in them).
    ExpandedChanged {
        before: String,
        after: String,
    },
    /// Context files it reads: the first one named, how many in all.
    FileChanged {
        path: String,
        more: usize,
    },
    FileAdded {
        path: String,
        more: usize,
    },
    FileRemoved {
        path: String,
        more: usize,
    },
    /// Files came or went because `.dockerignore` changed.
    DockerignoreChanged {
        path: String,
        now: &'static str,
    },
    /// The same files, with other modes, owners or links.
    FileMetadataChanged,
    /// More files than a record lists; their digest changed.
    FilesChanged,
    /// A stage it reads was built again.
    UpstreamStageRan {
        stage: String,
        via: String,
    },
    /// A stage it reads gives another image without running a step.
    UpstreamStageMoved {
        stage: String,
        via: String,
    },
    /// An image it reads (`COPY --from=image`) moved.
    UpstreamImageMoved {
        image: String,
        id: String,
    },
    ArgChanged {
        name: String,
        before: String,
        after: String,
    },
    ArgAdded {
        name: String,
        value: String,
    },
    ArgRemoved {
        name: String,
        before: String,
    },
    EnvChanged {
        name: String,
        before: String,
        after: String,
    },
    EnvAdded {
        name: String,
        value: String,
    },
    EnvRemoved {
        name: String,
        before: String,
    },
    WorkdirChanged {
        before: String,
        after: String,
    },
    UserChanged {
        before: String,
        after: String,
    },
    ShellChanged,
    /// Image settings other than these (labels, ports, …) before the step.
    SettingsChanged,
    /// Another input of its key (a bind mount's content, a WORKDIR made).
    OtherInputChanged,
    /// The stage's base image reference now names another image.
    BaseImageMoved {
        image: String,
        id: String,
    },
    /// The stage's `from` names another image.
    BaseImageChanged {
        before: String,
        after: String,
    },
    /// The stage starts from a stage that was built again.
    BaseStageRan {
        stage: String,
    },
    /// The step before it ran, so this one starts from a new image.
    StepBeforeRan {
        text: String,
    },
    /// The step before came from another cache entry than last time.
    StepBeforeMoved {
        text: String,
    },
    /// It failed in the earlier build, so it had no cache entry.
    FailedBefore,
    /// The same inputs, but the cache entry is gone (pruned or removed).
    CacheEntryGone,
    /// Its key changed for a reason the record does not name.
    Unknown,
    /// The back end said only that it missed (BuildKit's status stream).
    NotReported,
}

impl Reason {
    /// A stable name for tools (`--progress json`).
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::NoCache { .. } => "no-cache",
            Reason::FirstBuild => "first-build",
            Reason::OtherBackend { .. } => "other-backend",
            Reason::NewStage { .. } => "new-stage",
            Reason::NewStep => "new-step",
            Reason::TextChanged { .. } => "step-text",
            Reason::ExpandedChanged { .. } => "expanded-text",
            Reason::FileChanged { .. } => "file-changed",
            Reason::FileAdded { .. } => "file-added",
            Reason::FileRemoved { .. } => "file-removed",
            Reason::DockerignoreChanged { .. } => "dockerignore",
            Reason::FileMetadataChanged => "file-metadata",
            Reason::FilesChanged => "files-changed",
            Reason::UpstreamStageRan { .. } | Reason::UpstreamStageMoved { .. } => "upstream-stage",
            Reason::UpstreamImageMoved { .. } => "upstream-image",
            Reason::ArgChanged { .. } | Reason::ArgAdded { .. } | Reason::ArgRemoved { .. } => {
                "arg"
            }
            Reason::EnvChanged { .. } | Reason::EnvAdded { .. } | Reason::EnvRemoved { .. } => {
                "env"
            }
            Reason::WorkdirChanged { .. }
            | Reason::UserChanged { .. }
            | Reason::ShellChanged
            | Reason::SettingsChanged => "settings",
            Reason::OtherInputChanged => "other-input",
            Reason::BaseImageMoved { .. } | Reason::BaseImageChanged { .. } => "base-image",
            Reason::BaseStageRan { .. } => "base-stage",
            Reason::StepBeforeRan { .. } | Reason::StepBeforeMoved { .. } => "step-before",
            Reason::FailedBefore => "failed-before",
            Reason::CacheEntryGone => "cache-entry-gone",
            Reason::Unknown => "unknown",
            Reason::NotReported => "not-reported",
        }
    }
}

/// `sha256:0123456789ab` from a full digest.
pub fn short_digest(id: &str) -> String {
    let (algorithm, hex) = id.split_once(':').unwrap_or(("sha256", id));
    let short: String = hex.chars().take(12).collect();
    format!("{algorithm}:{short}")
}

fn and_more(more: usize) -> String {
    match more {
        0 => String::new(),
        1 => " (and 1 more file)".to_owned(),
        n => format!(" (and {n} more files)"),
    }
}

/// A step's text on one line, shortened for a sentence.
pub fn short_text(text: &str) -> String {
    const MAX: usize = 60;
    let line = text.split('\n').next().unwrap_or_default();
    let mut short: String = line.chars().take(MAX).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NoCache { filter: false } => write!(f, "--no-cache"),
            Reason::NoCache { filter: true } => write!(f, "--no-cache-filter names its stage"),
            Reason::FirstBuild => write!(f, "first build (no record of an earlier one)"),
            Reason::OtherBackend { before } => write!(
                f,
                "the last build ran on the {before} back end, whose cache is its own"
            ),
            Reason::NewStage { stage } => {
                write!(f, "the last build did not build stage {stage}")
            }
            Reason::NewStep => write!(f, "a new step"),
            Reason::TextChanged { before } => {
                write!(f, "step text changed (was `{}`)", short_text(before))
            }
            Reason::ExpandedChanged { before, after } => write!(
                f,
                "it now reads `{}` (was `{}`)",
                short_text(after),
                short_text(before)
            ),
            Reason::FileChanged { path, more } => write!(f, "{path} changed{}", and_more(*more)),
            Reason::FileAdded { path, more } => write!(f, "{path} added{}", and_more(*more)),
            Reason::FileRemoved { path, more } => write!(f, "{path} removed{}", and_more(*more)),
            Reason::DockerignoreChanged { path, now } => {
                write!(f, ".dockerignore changed: {path} is now {now}")
            }
            Reason::FileMetadataChanged => {
                write!(f, "a file's mode, owner or link target changed")
            }
            Reason::FilesChanged => write!(f, "the files it copies changed"),
            Reason::UpstreamStageRan { stage, via } => {
                write!(f, "stage {stage} re-ran, so this {via} did")
            }
            Reason::UpstreamStageMoved { stage, via } => write!(
                f,
                "stage {stage} gives another image than in the last build, so this {via} re-ran"
            ),
            Reason::UpstreamImageMoved { image, id } => {
                write!(f, "image {image} moved to {}", short_digest(id))
            }
            Reason::ArgChanged {
                name,
                before,
                after,
            } => write!(f, "ARG {name} {before} → {after}"),
            Reason::ArgAdded { name, value } => write!(f, "ARG {name} now set ({value})"),
            Reason::ArgRemoved { name, before } => {
                write!(f, "ARG {name} no longer set (was {before})")
            }
            Reason::EnvChanged {
                name,
                before,
                after,
            } => write!(f, "ENV {name} {before} → {after}"),
            Reason::EnvAdded { name, value } => write!(f, "ENV {name} now set ({value})"),
            Reason::EnvRemoved { name, before } => {
                write!(f, "ENV {name} no longer set (was {before})")
            }
            Reason::WorkdirChanged { before, after } => {
                write!(f, "WORKDIR {} → {}", or_none(before), or_none(after))
            }
            Reason::UserChanged { before, after } => {
                write!(f, "USER {} → {}", or_none(before), or_none(after))
            }
            Reason::ShellChanged => write!(f, "SHELL changed"),
            Reason::SettingsChanged => write!(
                f,
                "the image settings before it changed (labels, ports, volumes, command or health check)"
            ),
            Reason::OtherInputChanged => {
                write!(f, "a bind-mounted source or a directory it makes changed")
            }
            Reason::BaseImageMoved { image, id } => {
                write!(f, "base image {image} moved to {}", short_digest(id))
            }
            Reason::BaseImageChanged { before, after } => {
                write!(f, "base image {before} → {after}")
            }
            Reason::BaseStageRan { stage } => {
                write!(f, "stage {stage} re-ran, so this stage, built on it, did")
            }
            Reason::StepBeforeRan { text } => {
                write!(f, "the step before (`{}`) re-ran", short_text(text))
            }
            Reason::StepBeforeMoved { text } => write!(
                f,
                "the step before (`{}`) came from another cache entry than in the last build",
                short_text(text)
            ),
            Reason::FailedBefore => write!(f, "it failed in the last build"),
            Reason::CacheEntryGone => write!(
                f,
                "same inputs as the last build, but its cache entry is gone (pruned or removed)"
            ),
            Reason::Unknown => write!(f, "its cache key changed"),
            Reason::NotReported => write!(
                f,
                "BuildKit does not say which input changed (a file it reads, most likely; the native back end names it)"
            ),
        }
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "(none)" } else { text }
}
