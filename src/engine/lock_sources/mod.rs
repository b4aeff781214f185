//! Fresh values for `stages.lock`: the digest a tag resolves to (asked of
//! the registry through the Engine, with the user's credentials; the
//! Engine's own copy when the registry cannot be reached), the sha256 of
//! what a URL serves, the commit a git ref names. Also the check a build
//! with a lock makes before its first step: every URL it adds still serves
//! the bytes the lock recorded.

pub mod git;
pub mod images;
pub mod index;
pub mod urls;

use std::time::Duration;

use crate::engine::client::DockerEngine;
use crate::engine::registry::credentials::DockerConfig;
use crate::lockfile::reads::Reads;
use crate::lockfile::{Lock, LockedGit, LockedUrl};

/// How long one download or `git ls-remote` may take.
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(120);

/// Which entries to ask for again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// Keep what the old lock has; resolve only what it lacks.
    Missing,
    /// Resolve everything again.
    All,
    /// Resolve these keys (image references, URLs, git sources) again.
    Only(Vec<String>),
}

impl Refresh {
    fn wants(&self, key: &str) -> bool {
        match self {
            Refresh::Missing => false,
            Refresh::All => true,
            Refresh::Only(keys) => keys.iter().any(|k| k == key),
        }
    }
}

/// The outcome of resolving: the new lock, what was said about it along
/// the way (fallbacks to the Engine), and what could not be resolved.
#[derive(Debug, Default)]
pub struct Resolved {
    pub lock: Lock,
    pub notes: Vec<String>,
    pub failures: Vec<String>,
}

/// The lock for `reads`: entries of `old` are kept unless `refresh` asks
/// for them again; entries nothing reads any more are dropped.
pub async fn resolve_all(
    engine: &DockerEngine,
    config: &DockerConfig,
    reads: &Reads,
    old: &Lock,
    refresh: &Refresh,
) -> Resolved {
    let mut out = Resolved::default();
    let mut seen: Vec<&str> = Vec::new();
    // The platform the Engine builds for when a stage names none.
    let engine_platform = engine
        .platform()
        .unwrap_or_else(|| "linux/amd64".to_owned());
    for image in &reads.images {
        let reference = image.reference.as_str();
        if reference.contains('@') || seen.contains(&reference) {
            continue;
        }
        seen.push(reference);
        if let Some(kept) = old.image(reference).filter(|_| !refresh.wants(reference)) {
            out.lock.images.push(kept.clone());
            continue;
        }
        let mut wanted: Vec<String> = reads
            .images
            .iter()
            .filter(|i| i.reference == reference)
            .map(|i| {
                i.platform
                    .clone()
                    .unwrap_or_else(|| engine_platform.clone())
            })
            .collect();
        wanted.sort();
        wanted.dedup();
        match images::resolve_image(engine, config, reference, &wanted).await {
            Ok(resolved) => {
                if let Some(note) = resolved.note {
                    out.notes.push(note);
                }
                out.lock.images.push(resolved.locked);
            }
            Err(error) => out.failures.push(error),
        }
    }
    for url in &reads.urls {
        if let Some(kept) = old.url(&url.text).filter(|_| !refresh.wants(&url.text)) {
            out.lock.urls.push(kept.clone());
            continue;
        }
        match urls::checksum_of(&url.text, REMOTE_TIMEOUT).await {
            Ok(checksum) => out.lock.urls.push(LockedUrl {
                url: url.text.clone(),
                checksum,
                span: Default::default(),
            }),
            Err(error) => out.failures.push(format!("URL {}: {error}", url.text)),
        }
    }
    for source in &reads.git {
        if let Some(kept) = old
            .git(&source.text)
            .filter(|_| !refresh.wants(&source.text))
        {
            out.lock.git.push(kept.clone());
            continue;
        }
        match git::resolve_ref(&source.text, REMOTE_TIMEOUT).await {
            Ok(commit) => out.lock.git.push(LockedGit {
                source: source.text.clone(),
                commit,
                span: Default::default(),
            }),
            Err(error) => out
                .failures
                .push(format!("git source {}: {error}", source.text)),
        }
    }
    out.lock.sort();
    out
}

/// Downloads every URL `reads` adds and compares it with the lock's
/// checksum; one line per URL that differs or cannot be read.
pub async fn verify_urls(reads: &Reads, lock: &Lock) -> Vec<String> {
    let mut problems = Vec::new();
    for url in &reads.urls {
        let Some(locked) = lock.url(&url.text) else {
            continue;
        };
        match urls::checksum_of(&url.text, REMOTE_TIMEOUT).await {
            Ok(checksum) if checksum == locked.checksum => {}
            Ok(checksum) => problems.push(format!(
                "URL {} now serves {checksum}; stages.lock has {}",
                url.text, locked.checksum
            )),
            Err(error) => problems.push(format!("URL {}: {error}", url.text)),
        }
    }
    problems
}
