//! `stages build --report FILE`: the build report as JSON (`.json`) or as
//! a self-contained HTML page (`.html`), written atomically. A file that
//! is a report of `stages` already (its JSON `report` field or the HTML
//! page's generator tag says so) is replaced, since it is this option's
//! own output; any other file is replaced only with `--force`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use miette::miette;

use super::common::write_atomic;
use crate::engine::build_summary::BuildSummary;
use crate::engine::client::DockerEngine;
use crate::engine::report::assemble::{ReportInputs, assemble};
use crate::engine::report::html::{self, GENERATOR_META};
use crate::engine::report::image_sizes;
use crate::engine::report::model::{BuildReport, REPORT_KIND};
use crate::engine::report::timeline::Timeline;
use crate::graph::{ProjectGraph, ResolvedKind, ResolvedTarget};

/// How much of an existing file is read to tell whether it is a report.
const SNIFF_LIMIT: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Html,
}

/// Where `--report` writes, checked before the build starts.
#[derive(Debug, Clone)]
pub struct ReportFile {
    path: PathBuf,
    format: ReportFormat,
    force: bool,
}

impl ReportFile {
    /// The format from the extension; refuses a directory, a missing
    /// parent directory, and a file that is not a report unless `force`.
    pub fn check(path: &Path, force: bool) -> miette::Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let format = match extension.as_deref() {
            Some("json") => ReportFormat::Json,
            Some("html" | "htm") => ReportFormat::Html,
            _ => {
                return Err(miette!(
                    code = "stages::report::format",
                    help =
                        "name the file FILE.json for JSON or FILE.html for a page with a timeline",
                    "--report {}: the name says neither .json nor .html",
                    path.display()
                ));
            }
        };
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(miette!(
                code = "stages::report::no-directory",
                help = "create the directory first, or write the report elsewhere",
                "--report {}: {} is not a directory",
                path.display(),
                parent.display()
            ));
        }
        let file = Self {
            path: path.to_owned(),
            format,
            force,
        };
        file.may_replace()?;
        Ok(file)
    }

    /// An existing file is replaced only if it is a report or `--force`.
    fn may_replace(&self) -> miette::Result<()> {
        if self.path.is_dir() {
            return Err(miette!(
                code = "stages::report::not-a-file",
                "--report {}: is a directory",
                self.path.display()
            ));
        }
        if self.force || !self.path.exists() || is_own_report(&self.path, self.format) {
            return Ok(());
        }
        Err(miette!(
            code = "stages::report::would-overwrite",
            help = "pass --force to replace it, or name another file",
            "--report {}: the file exists and is not a build report of stages",
            self.path.display()
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the report through a temporary file and a rename.
    pub fn write(&self, report: &BuildReport) -> miette::Result<()> {
        // Checked again: the file may have appeared during the build.
        self.may_replace()?;
        let contents = match self.format {
            ReportFormat::Json => {
                let mut text = serde_json::to_string_pretty(report)
                    .map_err(|error| miette!("cannot write the report: {error}"))?;
                text.push('\n');
                text
            }
            ReportFormat::Html => html::render(report),
        };
        write_atomic(&self.path, contents.as_bytes(), true)
    }
}

/// The file says it is a report of `stages` in the same format.
fn is_own_report(path: &Path, format: ReportFormat) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut bytes = Vec::new();
    if file.take(SNIFF_LIMIT).read_to_end(&mut bytes).is_err() {
        return false;
    }
    match format {
        ReportFormat::Json => serde_json::from_slice::<serde_json::Value>(&bytes)
            .is_ok_and(|value| value["report"] == REPORT_KIND),
        ReportFormat::Html => {
            let head = &bytes[..bytes.len().min(4096)];
            String::from_utf8_lossy(head).contains(GENERATOR_META)
        }
    }
}

/// What the report needs of the build besides its timeline.
pub struct BuildFacts<'a> {
    pub backend: &'static str,
    pub graph: &'a ProjectGraph,
    pub targets: &'a [ResolvedTarget],
    pub summary: &'a BuildSummary,
    pub wall: Duration,
    pub finished: bool,
}

/// The report, with the sizes of the stage and target images the Engine has.
pub async fn build_report(
    engine: &DockerEngine,
    timeline: &Timeline,
    facts: &BuildFacts<'_>,
) -> BuildReport {
    let mut images: Vec<String> = timeline
        .stages()
        .iter()
        .filter_map(|s| s.image.clone())
        .collect();
    images.extend(timeline.target_images().values().cloned());
    let sizes = image_sizes(engine, &images).await;
    let states = facts.summary.states(facts.finished);
    let targets = facts
        .targets
        .iter()
        .zip(states)
        .map(|(target, (_, state))| {
            let stage = match &target.kind {
                ResolvedKind::Image { stage, .. } => Some(stage.clone()),
                ResolvedKind::Artifacts { .. } => None,
            };
            (target.name.clone(), state.word().to_owned(), stage)
        })
        .collect();
    let inputs = ReportInputs {
        backend: facts.backend,
        wall: facts.wall,
        finished: facts.finished,
        graph: facts.graph,
        targets,
        sizes: &sizes,
    };
    assemble(timeline, &inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_gives_the_format_and_other_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("r.json");
        assert_eq!(
            ReportFile::check(&json, false).unwrap().format,
            ReportFormat::Json
        );
        let html = dir.path().join("r.HTML");
        assert_eq!(
            ReportFile::check(&html, false).unwrap().format,
            ReportFormat::Html
        );
        let text = dir.path().join("r.txt");
        assert!(format!("{:?}", ReportFile::check(&text, false).unwrap_err()).contains("neither"));
        let nowhere = dir.path().join("missing/r.json");
        assert!(ReportFile::check(&nowhere, false).is_err());

        std::fs::write(&json, "{\"mine\": true}").unwrap();
        let refused = ReportFile::check(&json, false).unwrap_err();
        assert!(
            refused.to_string().contains("not a build report"),
            "{refused}"
        );
        assert!(ReportFile::check(&json, true).is_ok());
        std::fs::write(&json, format!("{{\"report\": \"{REPORT_KIND}\"}}")).unwrap();
        assert!(ReportFile::check(&json, false).is_ok(), "its own output");

        std::fs::write(&html, "<html>mine</html>").unwrap();
        assert!(ReportFile::check(&html, false).is_err());
        std::fs::write(&html, format!("<!DOCTYPE html><head>{GENERATOR_META}")).unwrap();
        assert!(ReportFile::check(&html, false).is_ok());
        assert!(ReportFile::check(dir.path(), true).is_err());
    }
}
