//! The step cache as users see it: the images carrying the cache-key label,
//! listed (size, age, stage, step) and pruned oldest first down to a size.
//! Tagged images are never removed here: a tag is the user's.

use super::cache_key::{CACHE_KEY_LABEL, CACHE_STAGE_LABEL, CACHE_STEP_LABEL};
use super::engine_api::{CachedImage, OpError, StepEngine};

/// One cached step result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub id: String,
    pub size: i64,
    pub created: i64,
    pub stage: String,
    pub step: String,
    pub tagged: bool,
}

impl From<CachedImage> for CacheEntry {
    fn from(image: CachedImage) -> Self {
        Self {
            stage: image
                .labels
                .get(CACHE_STAGE_LABEL)
                .cloned()
                .unwrap_or_default(),
            step: image
                .labels
                .get(CACHE_STEP_LABEL)
                .cloned()
                .unwrap_or_default(),
            tagged: !image.tags.is_empty(),
            id: image.id,
            size: image.size,
            created: image.created,
        }
    }
}

/// Every cached step result, newest first.
pub async fn list_cache<E: StepEngine>(engine: &E) -> Result<Vec<CacheEntry>, OpError> {
    let mut entries: Vec<CacheEntry> = engine
        .images_with_label(CACHE_KEY_LABEL, None)
        .await?
        .into_iter()
        .map(CacheEntry::from)
        .collect();
    entries.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
    Ok(entries)
}

/// Which entries to remove so that what stays fits in `keep` bytes (all
/// untagged ones without a limit): the oldest go first.
pub fn select_for_prune(entries: &[CacheEntry], keep: Option<u64>) -> Vec<CacheEntry> {
    let mut oldest_first: Vec<&CacheEntry> = entries.iter().filter(|e| !e.tagged).collect();
    oldest_first.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    let Some(keep) = keep else {
        return oldest_first.into_iter().cloned().collect();
    };
    let mut total: u64 = entries.iter().map(|e| e.size.max(0) as u64).sum();
    let mut chosen = Vec::new();
    for entry in oldest_first {
        if total <= keep {
            break;
        }
        total = total.saturating_sub(entry.size.max(0) as u64);
        chosen.push(entry.clone());
    }
    chosen
}

/// What a prune did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PruneReport {
    pub removed: Vec<CacheEntry>,
    /// Entries still needed by an image that stays (the Engine refuses).
    pub kept: Vec<(CacheEntry, String)>,
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
        match engine.remove_image(&entry.id).await {
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
    use super::*;

    fn entry(id: &str, size: i64, created: i64, tagged: bool) -> CacheEntry {
        CacheEntry {
            id: id.into(),
            size,
            created,
            stage: "s".into(),
            step: "RUN x".into(),
            tagged,
        }
    }

    #[test]
    fn prune_takes_the_oldest_untagged_until_the_rest_fits() {
        let entries = vec![
            entry("new", 100, 30, false),
            entry("old", 100, 10, false),
            entry("mid", 100, 20, false),
            entry("tagged", 100, 5, true),
        ];
        let ids = |chosen: Vec<CacheEntry>| chosen.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(select_for_prune(&entries, None)), ["old", "mid", "new"]);
        assert_eq!(ids(select_for_prune(&entries, Some(250))), ["old", "mid"]);
        assert_eq!(
            ids(select_for_prune(&entries, Some(400))),
            Vec::<String>::new()
        );
        assert_eq!(
            ids(select_for_prune(&entries, Some(0))),
            ["old", "mid", "new"]
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

    #[tokio::test]
    async fn listing_and_pruning_work_on_an_engine() {
        use super::super::engine_api::ImageSettings;
        use super::super::fake_engine::{FakeEngine, FakeImage};
        let engine = FakeEngine::default();
        for (id, created) in [("sha256:a", 1), ("sha256:b", 2)] {
            engine.lock().images.insert(
                id.into(),
                FakeImage {
                    settings: ImageSettings {
                        labels: [
                            (CACHE_KEY_LABEL.to_owned(), format!("key-{id}")),
                            (CACHE_STAGE_LABEL.to_owned(), "build".to_owned()),
                        ]
                        .into(),
                        ..ImageSettings::default()
                    },
                    created,
                    ..FakeImage::default()
                },
            );
        }
        let listed = list_cache(&engine).await.unwrap();
        assert_eq!(
            listed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["sha256:b", "sha256:a"]
        );
        assert_eq!(listed[0].stage, "build");
        let report = prune_cache(&engine, select_for_prune(&listed, None))
            .await
            .unwrap();
        assert_eq!(report.removed.len(), 2);
        assert!(list_cache(&engine).await.unwrap().is_empty());
    }
}
