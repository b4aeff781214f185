//! The report for people, a few lines under the build summary: each
//! stage's time and whether it came from the cache, the critical path,
//! parallelism, cache hits, bytes sent and image sizes.

use std::fmt::Write;

use super::model::{BuildReport, StageReport};

/// The lines, each ending with a newline; empty when no stage ran.
pub fn render(report: &BuildReport) -> String {
    let mut out = String::new();
    if report.stages.is_empty() {
        return out;
    }
    let width = report
        .stages
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("stage".len());
    // Flush left: the target lines above are the summary's indented ones.
    let _ = writeln!(
        out,
        "{:name$}  {:>7}  cache",
        "stage",
        "time",
        name = width + 2
    );
    for stage in &report.stages {
        let mark = if stage.critical { "*" } else { " " };
        let _ = writeln!(
            out,
            "{mark} {:width$}  {:>7}  {}",
            stage.name,
            duration(stage.seconds),
            stage_state(stage)
        );
    }
    let _ = writeln!(
        out,
        "critical path (*): {} ({} of {} of stages)",
        report.critical_path.join(" → "),
        duration(report.critical_path_seconds),
        duration(report.stages_seconds),
    );
    let mut facts = Vec::new();
    if let Some(parallelism) = report.parallelism {
        facts.push(format!("parallelism {parallelism:.2}×"));
    }
    let cache = &report.cache;
    if let Some(ratio) = cache.ratio {
        facts.push(format!(
            "cache hits {}/{} steps ({:.0}%)",
            cache.cached,
            cache.steps,
            ratio * 100.0
        ));
    }
    if let Some(bytes) = report.bytes_sent {
        facts.push(format!("sent {} to the Engine", size(bytes)));
    }
    if !facts.is_empty() {
        let _ = writeln!(out, "{}", facts.join(" · "));
    }
    for target in &report.targets {
        let Some(bytes) = target.size else { continue };
        let mut line = format!("image {} {}", target.name, size(bytes));
        let from: Vec<String> = target
            .copies_from
            .iter()
            .map(|from| match from.size {
                Some(bytes) => format!("{} {}", from.stage, size(bytes)),
                None => format!("{} (size not known with {})", from.stage, report.backend),
            })
            .collect();
        if !from.is_empty() {
            let _ = write!(line, ", copies from {}", from.join(", "));
        }
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `failed`, `cached` or `built`.
pub fn stage_state(stage: &StageReport) -> &'static str {
    if stage.failed {
        "failed"
    } else if stage.cached {
        "cached"
    } else {
        "built"
    }
}

/// `0.4s`, `12.3s`, `2m05s`.
pub fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = seconds.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// Decimal units, as `docker images` shows sizes: `1.2MB`, `980kB`.
pub fn size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else if value < 10.0 {
        format!("{value:.2}{}", units[unit])
    } else {
        format!("{value:.1}{}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::report::model::{CacheReport, REPORT_KIND, SizedStage, TargetReport};

    fn stage(name: &str, seconds: f64, cached: bool, critical: bool) -> StageReport {
        StageReport {
            name: name.to_owned(),
            start: 0.0,
            end: seconds,
            seconds,
            cached,
            critical,
            failed: false,
            image: None,
            size: None,
            steps: Vec::new(),
        }
    }

    #[test]
    fn stages_path_facts_and_sizes_in_a_few_lines() {
        let report = BuildReport {
            report: REPORT_KIND,
            version: 1,
            backend: "native".into(),
            started: "2026-12-07T09:00:00.000Z".into(),
            finished: true,
            wall_seconds: 14.2,
            timing: "observed",
            stages: vec![
                stage("builder", 12.04, false, true),
                stage("docs", 3.0, true, false),
                stage("runtime", 0.51, false, true),
            ],
            critical_path: vec!["builder".into(), "runtime".into()],
            critical_path_seconds: 12.6,
            stages_seconds: 12.6,
            busy_seconds: 15.55,
            parallelism: Some(1.23),
            cache: CacheReport {
                steps: 6,
                cached: 4,
                ratio: Some(4.0 / 6.0),
            },
            bytes_sent: Some(12_345),
            targets: vec![TargetReport {
                name: "app".into(),
                state: "built".into(),
                stage: Some("runtime".into()),
                image: Some("sha256:1".into()),
                size: Some(612_000_000),
                copies_from: vec![SizedStage {
                    stage: "builder".into(),
                    size: Some(1_040_000_000),
                }],
            }],
        };
        insta::assert_snapshot!(render(&report), @r"
        stage         time  cache
        * builder    12.0s  built
          docs        3.0s  cached
        * runtime     0.5s  built
        critical path (*): builder → runtime (12.6s of 12.6s of stages)
        parallelism 1.23× · cache hits 4/6 steps (67%) · sent 12.3kB to the Engine
        image app 612.0MB, copies from builder 1.04GB
        ");
    }

    #[test]
    fn sizes_read_like_docker_images() {
        assert_eq!(size(999), "999B");
        assert_eq!(size(1_500), "1.50kB");
        assert_eq!(size(612_000_000), "612.0MB");
        assert_eq!(duration(125.0), "2m05s");
    }
}
