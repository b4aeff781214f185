//! The build report as data: what `--report FILE.json` writes, the terminal
//! summary and the HTML page read. Field names are part of the interface
//! (docs/report.md); times are seconds since the build started, sizes bytes.

use serde::Serialize;

/// The value of `report`, by which a file is known as a report.
pub const REPORT_KIND: &str = "stages build report";
/// Raised when a field changes meaning or goes; new fields keep it.
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildReport {
    pub report: &'static str,
    pub version: u32,
    /// `native`, `buildkit` or `dockerfile`.
    pub backend: String,
    /// When the build started, RFC 3339 UTC.
    pub started: String,
    /// Every target built and published (tags moved, files placed).
    pub finished: bool,
    pub wall_seconds: f64,
    /// `builder` when step times are the builder's own (BuildKit's vertex
    /// times), `observed` when they are when stages saw each event.
    pub timing: &'static str,
    /// In the order the stages first ran.
    pub stages: Vec<StageReport>,
    /// Stage names, first to last.
    pub critical_path: Vec<String>,
    /// From the start of the path's first stage to the end of its last.
    pub critical_path_seconds: f64,
    /// From the first stage's start to the last stage's end.
    pub stages_seconds: f64,
    /// The sum of every stage's own time.
    pub busy_seconds: f64,
    /// `busy_seconds / stages_seconds`; null when stages took no time.
    pub parallelism: Option<f64>,
    pub cache: CacheReport,
    /// Build context and file uploads sent to the Engine; null when the
    /// build did not get that far.
    pub bytes_sent: Option<u64>,
    pub targets: Vec<TargetReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageReport {
    pub name: String,
    pub start: f64,
    pub end: f64,
    /// Its own time: `end - start`, or with the builder's step times the
    /// time its steps ran (a BuildKit stage may wait between steps).
    pub seconds: f64,
    /// Every step that decides (not its FROM) came from the cache.
    pub cached: bool,
    /// On the critical path.
    pub critical: bool,
    /// It was running when its target failed.
    pub failed: bool,
    /// The stage's image on the Engine (native back end only).
    pub image: Option<String>,
    pub size: Option<u64>,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// 1-based among the stage's steps as the back end counts them.
    pub index: usize,
    pub text: String,
    pub start: f64,
    pub end: f64,
    pub seconds: f64,
    pub cached: bool,
}

/// Steps that decide (not FROM), and how many came from the cache.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheReport {
    pub steps: usize,
    pub cached: usize,
    /// `cached / steps`; null when no step decided.
    pub ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    pub name: String,
    /// `built`, `cached`, `failed`, `unpublished` or `not built`.
    pub state: String,
    /// The image target's stage; null for an artifact target.
    pub stage: Option<String>,
    pub image: Option<String>,
    pub size: Option<u64>,
    /// The stages the target's stage copies files or artifacts from.
    pub copies_from: Vec<SizedStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizedStage {
    pub stage: String,
    /// Null when the back end leaves no image of the stage (BuildKit, classic).
    pub size: Option<u64>,
}

/// Seconds, to the millisecond.
pub fn seconds(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}
