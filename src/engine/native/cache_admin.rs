//! The step cache as users see it: a project's entries (images tagged
//! `stages-cache/<project id>:<key>`), or every project's, listed (size,
//! age, last use, stage, step) and pruned least recently used first down
//! to a size. Pruning an entry removes its cache tag: the Engine then
//! deletes the image unless the user tagged it too, or a kept entry was
//! built on it.

use std::collections::{BTreeMap, BTreeSet};

use super::cache_key::{
    CACHE_KEY_LABEL, CACHE_PROJECT_LABEL, CACHE_STAGE_LABEL, CACHE_STEP_LABEL, cache_tag,
    parse_cache_tag,
};
use super::cache_usage::LastUse;
use super::engine_api::{CachedImage, OpError, StepEngine};

/// Whose entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheScope<'a> {
    /// One project's (its `ProjectState::id`).
    Project(&'a str),
    /// Every project's, and the untagged entries earlier versions of
    /// stages left.
    All,
}

/// One cached step result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheEntry {
    pub id: String,
    pub key: String,
    /// `None`: an untagged entry of an earlier version, in no project.
    pub project: Option<String>,
    /// The tag that makes it an entry (`None` for untagged old entries).
    pub cache_tag: Option<String>,
    /// The image's other tags: it is someone's image, and stays.
    pub user_tags: Vec<String>,
    /// Bytes, with the layers of its parents.
    pub size: i64,
    /// Bytes of its own layers (`size` less its parent's), once computed.
    pub own_size: i64,
    pub created: i64,
    /// Unix seconds; its creation when no use was recorded.
    pub last_used: i64,
    pub parent: String,
    pub stage: String,
    pub step: String,
}

impl CacheEntry {
    fn from_image(image: CachedImage, project: Option<String>, cache_tag: Option<String>) -> Self {
        let label = |name: &str| image.labels.get(name).cloned().unwrap_or_default();
        Self {
            key: label(CACHE_KEY_LABEL),
            stage: label(CACHE_STAGE_LABEL),
            step: label(CACHE_STEP_LABEL),
            user_tags: image
                .tags
                .iter()
                .filter(|tag| parse_cache_tag(tag).is_none())
                .cloned()
                .collect(),
            project,
            cache_tag,
            size: image.size,
            own_size: image.size,
            created: image.created,
            last_used: image.created,
            parent: image.parent,
            id: image.id,
        }
    }

    /// What its removal gives back (nothing while the user's tag holds it).
    pub fn reclaimable(&self) -> u64 {
        if self.user_tags.is_empty() {
            self.own_size.max(0) as u64
        } else {
            0
        }
    }

    /// The reference its removal goes through.
    fn reference(&self) -> &str {
        self.cache_tag.as_deref().unwrap_or(&self.id)
    }
}

/// The entries in `scope`, newest first.
pub async fn list_cache<E: StepEngine>(
    engine: &E,
    scope: CacheScope<'_>,
) -> Result<Vec<CacheEntry>, OpError> {
    let mut entries: Vec<CacheEntry> = match scope {
        CacheScope::Project(project) => engine
            .images_with_label(CACHE_PROJECT_LABEL, Some(project))
            .await?
            .into_iter()
            .filter_map(|image| {
                let tag = cache_tag(project, image.labels.get(CACHE_KEY_LABEL)?);
                image
                    .tags
                    .contains(&tag)
                    .then(|| CacheEntry::from_image(image, Some(project.to_owned()), Some(tag)))
            })
            .collect(),
        CacheScope::All => {
            let images = engine.images_with_label(CACHE_KEY_LABEL, None).await?;
            let parents: BTreeSet<String> = images.iter().map(|i| i.parent.clone()).collect();
            images
                .into_iter()
                .filter_map(|image| entry_of_any_project(image, &parents))
                .collect()
        }
    };
    entries.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
    Ok(entries)
}

fn entry_of_any_project(image: CachedImage, parents: &BTreeSet<String>) -> Option<CacheEntry> {
    let key = image.labels.get(CACHE_KEY_LABEL)?;
    let tagged = image.tags.iter().find_map(|tag| {
        parse_cache_tag(tag)
            .filter(|(_, k)| k == key)
            .map(|(p, _)| (p.to_owned(), tag.clone()))
    });
    match tagged {
        Some((project, tag)) => Some(CacheEntry::from_image(image, Some(project), Some(tag))),
        // Untagged and nothing built on it: an entry from before cache
        // tags, which only `--all` reaches.
        None if image.tags.is_empty() && !parents.contains(&image.id) => {
            Some(CacheEntry::from_image(image, None, None))
        }
        None => None,
    }
}

/// Sets each entry's own size: its size less its parent's (the parent's
/// layers are counted once, with the parent, or not at all when the
/// parent is a base image).
pub async fn compute_own_sizes<E: StepEngine>(
    engine: &E,
    entries: &mut [CacheEntry],
) -> Result<(), OpError> {
    let mut sizes: BTreeMap<String, i64> = entries.iter().map(|e| (e.id.clone(), e.size)).collect();
    for entry in entries.iter_mut() {
        if entry.parent.is_empty() {
            entry.own_size = entry.size;
            continue;
        }
        let parent_size = match sizes.get(&entry.parent) {
            Some(size) => *size,
            None => {
                let size = engine
                    .inspect_image(&entry.parent)
                    .await?
                    .map_or(0, |details| details.size);
                sizes.insert(entry.parent.clone(), size);
                size
            }
        };
        entry.own_size = (entry.size - parent_size).max(0);
    }
    Ok(())
}

/// Sets each entry's last use from the recorded times.
pub fn apply_last_use(entries: &mut [CacheEntry], times: &LastUse) {
    for entry in entries {
        if let Some(time) = times.get(&entry.key) {
            entry.last_used = (*time).max(entry.created);
        }
    }
}

/// Which entries to remove: all of them without a limit; with one, the
/// least recently used until what stays fits in `keep` bytes. An entry
/// goes with every entry built on it: their keys hold its image id, so
/// once it is rebuilt they can never match again, and while they stay its
/// layers stay too. Entries whose key is in `protected` (what a build just
/// used), and those built on them, stay; entries the user tagged do not
/// count (their space is the user's image's).
pub fn select_for_prune(
    entries: &[CacheEntry],
    keep: Option<u64>,
    protected: &BTreeSet<String>,
) -> Vec<CacheEntry> {
    let Some(keep) = keep else {
        return entries.to_vec();
    };
    let mut children: BTreeMap<&str, Vec<&CacheEntry>> = BTreeMap::new();
    for entry in entries {
        children
            .entry(entry.parent.as_str())
            .or_default()
            .push(entry);
    }
    let mut candidates: Vec<&CacheEntry> =
        entries.iter().filter(|e| e.user_tags.is_empty()).collect();
    candidates.sort_by(|a, b| {
        a.last_used
            .cmp(&b.last_used)
            .then(b.created.cmp(&a.created))
            .then(a.id.cmp(&b.id))
    });
    let mut total: u64 = entries.iter().map(CacheEntry::reclaimable).sum();
    let mut chosen: Vec<CacheEntry> = Vec::new();
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    for entry in candidates {
        if total <= keep {
            break;
        }
        if taken.contains(entry.id.as_str()) {
            continue;
        }
        let tree = with_descendants(entry, &children);
        if tree.iter().any(|e| protected.contains(&e.key)) {
            continue;
        }
        for member in tree {
            if taken.insert(member.id.as_str()) {
                total = total.saturating_sub(member.reclaimable());
                chosen.push(member.clone());
            }
        }
    }
    chosen
}

/// `entry` and every entry built on it, directly or not.
fn with_descendants<'a>(
    entry: &'a CacheEntry,
    children: &BTreeMap<&str, Vec<&'a CacheEntry>>,
) -> Vec<&'a CacheEntry> {
    let mut found = vec![entry];
    let mut seen = BTreeSet::from([entry.id.as_str()]);
    let mut next = 0;
    while let Some(current) = found.get(next) {
        next += 1;
        for child in children.get(current.id.as_str()).into_iter().flatten() {
            if seen.insert(child.id.as_str()) {
                found.push(child);
            }
        }
    }
    found
}

/// What a prune did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PruneReport {
    pub removed: Vec<CacheEntry>,
    /// Entries the Engine would not remove, and why.
    pub kept: Vec<(CacheEntry, String)>,
}

impl PruneReport {
    /// Bytes given back (approximately: an entry another image was built
    /// on keeps its layers until that image goes).
    pub fn freed(&self) -> u64 {
        self.removed.iter().map(CacheEntry::reclaimable).sum()
    }
}

/// Remove `chosen`, newest first, so that a step's image goes before the
/// image it was built on.
pub async fn prune_cache<E: StepEngine>(
    engine: &E,
    mut chosen: Vec<CacheEntry>,
) -> Result<PruneReport, OpError> {
    chosen.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
    let mut report = PruneReport::default();
    for entry in chosen {
        match engine.remove_image(entry.reference()).await {
            Ok(()) => report.removed.push(entry),
            Err(error) if error.not_found => {}
            Err(error) => report.kept.push((entry, error.message)),
        }
    }
    Ok(report)
}

/// `500MB`, `2GB`, `1.5G`, `4096` → bytes (powers of 1024, like Docker).
pub fn parse_storage_size(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(lower.len());
    let number: f64 = lower[..digits_end].parse().ok()?;
    let scale: f64 = match lower[digits_end..].trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    (number >= 0.0).then(|| (number * scale).round() as u64)
}

/// `1.5MB` style, for listings.
pub fn human_size(bytes: i64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.1}{}", units[unit])
    }
}

/// `3 minutes ago` style.
pub fn human_age(created: i64, now: i64) -> String {
    let seconds = (now - created).max(0);
    let (value, unit) = match seconds {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{value} {unit}{} ago", if value == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::super::engine_api::ImageSettings;
    use super::super::fake_engine::{FakeEngine, FakeImage};
    use super::*;

    fn entry(id: &str, size: i64, created: i64, last_used: i64, tagged: bool) -> CacheEntry {
        CacheEntry {
            id: id.into(),
            key: format!("sha256:{id}"),
            own_size: size,
            size,
            created,
            last_used,
            user_tags: if tagged { vec!["app:1".into()] } else { vec![] },
            ..CacheEntry::default()
        }
    }

    fn ids(chosen: Vec<CacheEntry>) -> Vec<String> {
        chosen.into_iter().map(|e| e.id).collect()
    }

    #[test]
    fn prune_takes_the_least_recently_used_until_the_rest_fits() {
        let entries = vec![
            entry("new", 100, 30, 30, false),
            entry("old-but-used", 100, 10, 90, false),
            entry("mid", 100, 20, 20, false),
            entry("tagged", 100, 5, 5, true),
        ];
        let none = BTreeSet::new();
        assert_eq!(ids(select_for_prune(&entries, None, &none)).len(), 4);
        assert_eq!(
            ids(select_for_prune(&entries, Some(150), &none)),
            ["mid", "new"]
        );
        assert!(select_for_prune(&entries, Some(300), &none).is_empty());
        assert_eq!(
            ids(select_for_prune(&entries, Some(0), &none)),
            ["mid", "new", "old-but-used"],
            "the user's image is never evicted"
        );
        let protected = BTreeSet::from(["sha256:mid".to_owned()]);
        assert_eq!(
            ids(select_for_prune(&entries, Some(0), &protected)),
            ["new", "old-but-used"]
        );
    }

    #[test]
    fn an_entry_goes_with_the_entries_built_on_it() {
        // Made in the same second and used together: the order alone
        // cannot tell which is the parent.
        let mut parent = entry("a-parent", 100, 10, 50, false);
        let mut child = entry("b-child", 0, 10, 50, false);
        child.parent = parent.id.clone();
        let other = entry("c-other", 100, 5, 60, false);
        parent.parent = "sha256:base".into();
        let entries = vec![parent.clone(), child.clone(), other];
        let chosen = ids(select_for_prune(&entries, Some(150), &BTreeSet::new()));
        assert_eq!(chosen, ["a-parent", "b-child"]);
        // What a build used stays, and so does what it was built on.
        let protected = BTreeSet::from([child.key.clone()]);
        assert_eq!(
            ids(select_for_prune(&entries, Some(0), &protected)),
            ["c-other"]
        );
    }

    #[test]
    fn among_equal_uses_a_step_goes_before_its_parent() {
        let entries = vec![
            entry("parent", 100, 10, 50, false),
            entry("child", 100, 11, 50, false),
        ];
        assert_eq!(
            ids(select_for_prune(&entries, Some(100), &BTreeSet::new())),
            ["child"]
        );
    }

    #[test]
    fn sizes_and_ages_read_and_print() {
        assert_eq!(parse_storage_size("500MB"), Some(500 << 20));
        assert_eq!(parse_storage_size("2GB"), Some(2 << 30));
        assert_eq!(parse_storage_size("1.5g"), Some(3 << 29));
        assert_eq!(parse_storage_size("4096"), Some(4096));
        assert_eq!(parse_storage_size("lots"), None);
        assert_eq!(parse_storage_size("5 parsecs"), None);
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(1536 * 1024), "1.5MB");
        assert_eq!(human_age(100, 100), "0 seconds ago");
        assert_eq!(human_age(0, 3600), "1 hour ago");
        assert_eq!(human_age(0, 3 * 86_400), "3 days ago");
    }

    fn image(engine: &FakeEngine, id: &str, labels: &[(&str, &str)], parent: &str, created: i64) {
        engine.lock().images.insert(
            id.into(),
            FakeImage {
                settings: ImageSettings {
                    labels: labels
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    ..ImageSettings::default()
                },
                created,
                parent: parent.into(),
                ..FakeImage::default()
            },
        );
    }

    #[tokio::test]
    async fn listing_and_pruning_keep_to_the_project() {
        let engine = FakeEngine::default();
        for (id, project, created) in [
            ("sha256:a", "p1", 1),
            ("sha256:b", "p1", 2),
            ("sha256:c", "p2", 3),
        ] {
            let key = format!("sha256:key-{}", &id[7..]);
            image(
                &engine,
                id,
                &[
                    (CACHE_KEY_LABEL, &key),
                    (CACHE_PROJECT_LABEL, project),
                    (CACHE_STAGE_LABEL, "build"),
                ],
                "",
                created,
            );
            engine
                .lock()
                .tags
                .insert(cache_tag(project, &key), id.into());
        }
        // An untagged entry of an earlier version, and an untagged image
        // an entry was built on: only the first is an entry, for `--all`.
        image(&engine, "sha256:old", &[(CACHE_KEY_LABEL, "k-old")], "", 0);
        image(
            &engine,
            "sha256:base",
            &[(CACHE_KEY_LABEL, "k-base")],
            "",
            0,
        );
        engine.lock().images.get_mut("sha256:a").unwrap().parent = "sha256:base".into();

        let listed = list_cache(&engine, CacheScope::Project("p1"))
            .await
            .unwrap();
        assert_eq!(ids(listed.clone()), ["sha256:b", "sha256:a"]);
        assert_eq!(listed[0].stage, "build");
        assert_eq!(listed[0].project.as_deref(), Some("p1"));
        let all = list_cache(&engine, CacheScope::All).await.unwrap();
        assert_eq!(
            ids(all.clone()),
            ["sha256:c", "sha256:b", "sha256:a", "sha256:old"]
        );
        assert_eq!(all[3].project, None);

        let report = prune_cache(&engine, select_for_prune(&listed, None, &BTreeSet::new()))
            .await
            .unwrap();
        assert_eq!(report.removed.len(), 2);
        assert!(
            list_cache(&engine, CacheScope::Project("p1"))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ids(list_cache(&engine, CacheScope::Project("p2"))
                .await
                .unwrap()),
            ["sha256:c"],
            "another project's entry stays"
        );
        let state = engine.lock();
        assert!(state.images.contains_key("sha256:c"));
        assert!(!state.images.contains_key("sha256:b"), "untagged, it went");
    }

    #[tokio::test]
    async fn own_sizes_leave_out_the_parents_layers() {
        let engine = FakeEngine::default();
        let mut entries = vec![
            CacheEntry {
                id: "child".into(),
                size: 130,
                parent: "mid".into(),
                ..CacheEntry::default()
            },
            CacheEntry {
                id: "mid".into(),
                size: 100,
                parent: "sha256:base".into(),
                ..CacheEntry::default()
            },
        ];
        engine.lock().images.insert(
            "sha256:base".into(),
            FakeImage {
                files: [(
                    "/a".to_owned(),
                    (super::super::fake_engine::Node::Dir, 0, 0, 0),
                )]
                .into(),
                ..FakeImage::default()
            },
        );
        compute_own_sizes(&engine, &mut entries).await.unwrap();
        assert_eq!(entries[0].own_size, 30);
        assert_eq!(entries[1].own_size, 99);
    }
}
