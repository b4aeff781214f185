//! The labels `stages` puts on every image it builds: the OCI annotations
//! it knows (`org.opencontainers.image.title`, `.created` for image
//! targets when `SOURCE_DATE_EPOCH` is set, `.revision`)
//! and its own (`dev.stages.stage`, `dev.stages.config-digest`), then the
//! target's labels, which win.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub const STAGE: &str = "dev.stages.stage";
pub const CONFIG_DIGEST: &str = "dev.stages.config-digest";
/// On containers `stages` creates itself: the build that owns them.
pub const BUILD: &str = "dev.stages.build";

/// What the labels of one image are made from.
#[derive(Debug, Clone)]
pub struct LabelInputs<'a> {
    pub project_name: Option<&'a str>,
    pub stage: &'a str,
    /// The text of stages.toml.
    pub config_text: &'a str,
    /// The build's `REVISION` argument, when given.
    pub revision: Option<&'a str>,
    /// When the image was made; `None` leaves the label out.
    pub created: Option<SystemTime>,
    pub target_labels: &'a [(String, String)],
}

/// The labels for one image.
pub fn image_labels(inputs: &LabelInputs<'_>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if let Some(name) = inputs.project_name {
        labels.insert("org.opencontainers.image.title".to_owned(), name.to_owned());
    }
    if let Some(created) = inputs.created {
        labels.insert(
            "org.opencontainers.image.created".to_owned(),
            rfc3339(created),
        );
    }
    if let Some(revision) = inputs.revision {
        labels.insert(
            "org.opencontainers.image.revision".to_owned(),
            revision.to_owned(),
        );
    }
    labels.insert(STAGE.to_owned(), inputs.stage.to_owned());
    labels.insert(CONFIG_DIGEST.to_owned(), config_digest(inputs.config_text));
    for (key, value) in inputs.target_labels {
        labels.insert(key.clone(), value.clone());
    }
    labels
}

/// `sha256:<hex>` of the config text.
pub fn config_digest(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The `created` label's time: `SOURCE_DATE_EPOCH` when set (reproducible
/// builds), else none. The Engine records every image's creation time
/// anyway; a label that changed on each build would make every warm rebuild
/// commit a new image and move the tag although nothing changed.
pub fn build_time() -> Option<SystemTime> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// A UTC timestamp as RFC 3339 (`2026-11-23T18:05:00Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (seconds / 86_400) as i64;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_456_800);
        assert_eq!(rfc3339(t), "2026-11-23T18:00:00Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn labels_hold_the_stage_the_digest_and_target_labels_win() {
        let target = vec![(
            "org.opencontainers.image.title".to_owned(),
            "custom".to_owned(),
        )];
        let labels = image_labels(&LabelInputs {
            project_name: Some("demo"),
            stage: "runtime",
            config_text: "abc",
            revision: Some("1a2b"),
            created: Some(UNIX_EPOCH),
            target_labels: &target,
        });
        assert_eq!(labels[STAGE], "runtime");
        assert_eq!(
            labels[CONFIG_DIGEST],
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(labels["org.opencontainers.image.title"], "custom");
        assert_eq!(labels["org.opencontainers.image.revision"], "1a2b");
    }
}
