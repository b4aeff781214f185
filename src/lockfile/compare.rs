//! `--locked`: what a build reads that the lock does not cover, or covers
//! differently; and, for `stages lock --update`, what moved between two
//! locks.

use super::model::Lock;
use super::reads::Reads;
use crate::engine::registry::errors::stage_list;

/// One way the build and the lock disagree, said for people.
pub type Difference = String;

/// Every difference between what a build reads and `lock`, in the order
/// the build reads them. Images already named by digest need no lock.
pub fn differences(reads: &Reads, lock: &Lock) -> Vec<Difference> {
    let mut out = Vec::new();
    for image in &reads.images {
        if image.reference.contains('@') {
            continue;
        }
        let needed_by = stage_list(&image.stages);
        match lock.image(&image.reference) {
            None => out.push(format!(
                "image {} (needed by {needed_by}) is not in stages.lock",
                image.reference
            )),
            Some(locked) => {
                if let Some(platform) = &image.platform
                    && !locked.platforms.is_empty()
                    && !locked
                        .platforms
                        .iter()
                        .any(|p| platform_matches(platform, p))
                {
                    out.push(format!(
                        "image {} is locked for {} but {needed_by} builds for {platform}",
                        image.reference,
                        locked.platforms.join(", ")
                    ));
                }
            }
        }
    }
    for url in &reads.urls {
        let needed_by = stage_list(&url.stages);
        match lock.url(&url.text) {
            None => out.push(format!(
                "URL {} (added by {needed_by}) is not in stages.lock",
                url.text
            )),
            Some(locked) => {
                if let Some(checksum) = &url.checksum
                    && *checksum != locked.checksum
                {
                    out.push(format!(
                        "URL {}: stages.toml gives checksum {checksum}, stages.lock {}",
                        url.text, locked.checksum
                    ));
                }
            }
        }
    }
    for git in &reads.git {
        if lock.git(&git.text).is_none() {
            out.push(format!(
                "git source {} (added by {}) is not in stages.lock",
                git.text,
                stage_list(&git.stages)
            ));
        }
    }
    out
}

/// `linux/arm64` matches `linux/arm64/v8`; an empty part matches anything.
pub fn platform_matches(wanted: &str, offered: &str) -> bool {
    let wanted: Vec<&str> = wanted.split('/').collect();
    let offered: Vec<&str> = offered.split('/').collect();
    wanted
        .iter()
        .enumerate()
        .all(|(i, part)| part.is_empty() || offered.get(i).is_some_and(|o| o == part))
}

/// One entry that changed between an old and a new lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub what: &'static str,
    pub key: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Moved {
    /// `image alpine:3.20: sha256:aaa… → sha256:bbb…`, `(new)`, `(removed)`.
    pub fn describe(&self) -> String {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => format!("{} {}: {old} -> {new}", self.what, self.key),
            (None, Some(new)) => format!("{} {}: {new} (new)", self.what, self.key),
            (Some(old), None) => format!("{} {}: {old} (removed)", self.what, self.key),
            (None, None) => format!("{} {}", self.what, self.key),
        }
    }
}

/// The entries whose value differs between `old` and `new`, or that only one has.
pub fn moved(old: &Lock, new: &Lock) -> Vec<Moved> {
    let mut out = Vec::new();
    let mut compare = |what: &'static str, old: Vec<(&str, &str)>, new: Vec<(&str, &str)>| {
        let mut keys: Vec<&str> = old.iter().chain(&new).map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let before = old
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string());
            let after = new
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string());
            if before != after {
                out.push(Moved {
                    what,
                    key: key.to_owned(),
                    old: before,
                    new: after,
                });
            }
        }
    };
    let images = |lock: &'_ Lock| -> Vec<(String, String)> {
        lock.images
            .iter()
            .map(|i| (i.reference.clone(), i.digest.clone()))
            .collect()
    };
    let (old_images, new_images) = (images(old), images(new));
    compare(
        "image",
        old_images
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        new_images
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    );
    compare(
        "url",
        old.urls
            .iter()
            .map(|u| (u.url.as_str(), u.checksum.as_str()))
            .collect(),
        new.urls
            .iter()
            .map(|u| (u.url.as_str(), u.checksum.as_str()))
            .collect(),
    );
    compare(
        "git",
        old.git
            .iter()
            .map(|g| (g.source.as_str(), g.commit.as_str()))
            .collect(),
        new.git
            .iter()
            .map(|g| (g.source.as_str(), g.commit.as_str()))
            .collect(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::registry::pull::NeededImage;
    use crate::located::Span;
    use crate::lockfile::model::{LockedImage, Resolution};

    fn locked(reference: &str, digest: &str, platforms: &[&str]) -> LockedImage {
        LockedImage {
            reference: reference.into(),
            digest: digest.into(),
            platforms: platforms.iter().map(|p| p.to_string()).collect(),
            manifests: Vec::new(),
            resolution: Resolution::Registry,
            span: Span::default(),
        }
    }

    #[test]
    fn uncovered_and_differently_covered_images_are_listed() {
        let lock = Lock {
            images: vec![locked("a:1", "sha256:1", &["linux/amd64"])],
            ..Lock::default()
        };
        let reads = Reads {
            images: vec![
                NeededImage {
                    reference: "a:1".into(),
                    platform: Some("linux/arm64".into()),
                    stages: vec!["x".into()],
                },
                NeededImage {
                    reference: "b:2".into(),
                    platform: None,
                    stages: vec!["y".into()],
                },
                NeededImage {
                    reference: "c@sha256:9".into(),
                    platform: None,
                    stages: vec!["y".into()],
                },
            ],
            ..Reads::default()
        };
        let found = differences(&reads, &lock);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("a:1") && found[0].contains("linux/arm64"));
        assert!(found[1].contains("b:2") && found[1].contains("not in stages.lock"));
        assert!(platform_matches("linux/arm64", "linux/arm64/v8"));
        assert!(!platform_matches("linux/arm64/v7", "linux/arm64"));
    }

    #[test]
    fn moved_entries_are_named() {
        let old = Lock {
            images: vec![
                locked("a:1", "sha256:1", &[]),
                locked("b:1", "sha256:2", &[]),
            ],
            ..Lock::default()
        };
        let new = Lock {
            images: vec![
                locked("a:1", "sha256:3", &[]),
                locked("b:1", "sha256:2", &[]),
            ],
            ..Lock::default()
        };
        let found = moved(&old, &new);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].describe(), "image a:1: sha256:1 -> sha256:3");
    }
}
