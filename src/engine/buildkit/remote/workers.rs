//! What a builder offers (`Control.ListWorkers`): its workers and the
//! platforms they build for, for `stages builders ls` and for refusing a
//! platform no builder has before any work is sent.

use bollard_buildkit_proto::moby::buildkit::v1::ListWorkersResponse;

/// One worker of a builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub id: String,
    /// `os/arch[/variant]`, as BuildKit spells platforms.
    pub platforms: Vec<String>,
    /// The worker's executor and snapshotter, from its labels.
    pub executor: Option<String>,
    pub snapshotter: Option<String>,
}

pub fn workers_of(response: ListWorkersResponse) -> Vec<Worker> {
    response
        .record
        .into_iter()
        .map(|record| Worker {
            platforms: record
                .platforms
                .iter()
                .map(|p| platform_text(&p.os, &p.architecture, &p.variant))
                .collect(),
            executor: record
                .labels
                .get("org.mobyproject.buildkit.worker.executor")
                .cloned(),
            snapshotter: record
                .labels
                .get("org.mobyproject.buildkit.worker.snapshotter")
                .cloned(),
            id: record.id,
        })
        .collect()
}

pub fn platform_text(os: &str, architecture: &str, variant: &str) -> String {
    if variant.is_empty() {
        format!("{os}/{architecture}")
    } else {
        format!("{os}/{architecture}/{variant}")
    }
}

/// Whether `workers` build for `platform` (`linux/arm64` matches
/// `linux/arm64/v8`, as BuildKit matches a platform without a variant).
pub fn offers(workers: &[Worker], platform: &str) -> bool {
    let wanted = normalise(platform);
    workers.iter().flat_map(|w| &w.platforms).any(|offered| {
        let offered = normalise(offered);
        offered == wanted
            || (wanted.matches('/').count() == 1 && offered.starts_with(&format!("{wanted}/")))
    })
}

fn normalise(platform: &str) -> String {
    let lower = platform.trim().to_ascii_lowercase();
    match lower.as_str() {
        "linux/arm64/v8" => "linux/arm64".to_owned(),
        _ => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_match_as_buildkit_matches_them() {
        let workers = vec![Worker {
            id: "w".into(),
            platforms: vec![
                "linux/amd64".into(),
                "linux/arm/v7".into(),
                "linux/arm64/v8".into(),
            ],
            executor: None,
            snapshotter: None,
        }];
        assert!(offers(&workers, "linux/amd64"));
        assert!(offers(&workers, "linux/arm"));
        assert!(offers(&workers, "linux/arm64"));
        assert!(!offers(&workers, "linux/riscv64"));
        assert!(!offers(&[], "linux/amd64"));
    }
}
