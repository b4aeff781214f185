//! One corpus project, built every way and compared with the reference:
//! `docker build` with the classic builder, or, for a project only
//! BuildKit can build, the `buildkit` back end when this `stages` has it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::artifacts::{docker_cp, host_differences, host_tree, stages_export};
use super::backends::{STAGES_BACKENDS, StagesBackend, offered};
use super::builds::{Built, Imported, docker_build, import, stages_build};
use super::compare::tree_differences;
use super::config::{differences, differences_across_buildkit, image_config};
use super::manifest::ProjectEntry;
use super::smoke::smoke;
use super::tracked::Tracked;
use super::tree::image_tree;

/// The reference's name in reports.
pub const CLASSIC: &str = "docker build";

/// How one way of building one build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The image the others are compared with.
    Reference,
    Identical,
    Differs,
    Failed,
    /// A builder that cannot build this project refused it, as it should.
    RefusedAsExpected,
    /// Built, but there is nothing to compare it with.
    NoReference,
    /// This `stages` has no such back end (yet).
    NotOffered,
}

pub struct Row {
    pub build: String,
    pub way: String,
    pub verdict: Verdict,
    pub seconds: Option<f64>,
    pub smoke: Option<Result<String, String>>,
    pub details: Vec<String>,
}

pub struct Report {
    pub project: String,
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

/// Differences listed per row before the rest are only counted.
const SHOWN: usize = 40;

impl Report {
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|row| {
            !matches!(row.verdict, Verdict::Differs | Verdict::Failed)
                && !matches!(row.smoke, Some(Err(_)))
        })
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("## {}\n\n", self.project);
        for note in &self.notes {
            let _ = writeln!(out, "- {note}");
        }
        out.push_str("\n| build | builder | result | seconds | smoke |\n|---|---|---|---:|---|\n");
        for row in &self.rows {
            let smoke = match &row.smoke {
                None => String::new(),
                Some(Ok(seen)) => format!("ok: {seen}"),
                Some(Err(e)) => format!("FAILED: {e}"),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {:?} | {} | {} |",
                row.build,
                row.way,
                row.verdict,
                row.seconds.map_or(String::new(), |s| format!("{s:.1}")),
                smoke.replace('|', "\\|")
            );
        }
        for row in self.rows.iter().filter(|r| !r.details.is_empty()) {
            let _ = writeln!(out, "\n### {} with {}\n", row.build, row.way);
            for line in row.details.iter().take(SHOWN) {
                let _ = writeln!(out, "- {line}");
            }
            if row.details.len() > SHOWN {
                let _ = writeln!(out, "- … and {} more", row.details.len() - SHOWN);
            }
        }
        out
    }
}

/// A way of building: the classic reference or a stages back end.
#[derive(Clone, Copy)]
enum Way {
    Classic,
    Stages(&'static StagesBackend),
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Classic => CLASSIC,
            Way::Stages(backend) => backend.name,
        }
    }

    /// The name in an image tag (no spaces).
    fn slug(self) -> &'static str {
        match self {
            Way::Classic => "classic",
            Way::Stages(backend) => backend.name,
        }
    }
}

pub fn compare_project(entry: &ProjectEntry, projects: &Path) -> Report {
    let mut report = Report {
        project: entry.name.clone(),
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let mut tracked = Tracked::new(&entry.name);
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("src");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(projects.join(&entry.dir))
        .arg(&src)
        .status()
        .expect("run cp");
    assert!(copied.success(), "copy {} into a temp dir", entry.dir);

    let mut ways = vec![Way::Classic];
    for backend in STAGES_BACKENDS {
        if offered(backend.name) {
            ways.push(Way::Stages(backend));
        } else {
            report.notes.push(format!(
                "`--backend {}` is not offered by this stages: not built",
                backend.name
            ));
            for build in &entry.builds {
                report
                    .rows
                    .push(row(&build.tag, backend.name, Verdict::NotOffered));
            }
        }
    }
    let reference = if entry.buildkit_only {
        let buildkit = ways.iter().any(|w| w.name() == "buildkit");
        report.notes.push(if buildkit {
            "BuildKit only: the classic builder cannot build it; the reference is `--backend buildkit`".to_owned()
        } else {
            "BuildKit only: the classic builder cannot build it and no BuildKit back end is offered, so nothing is compared; each back end that builds it must pass the smoke test".to_owned()
        });
        buildkit.then_some("buildkit")
    } else {
        Some(CLASSIC)
    };

    // Every build every way; a build argument naming an earlier build's tag
    // (skaffold's BASE) names that build's image made the same way.
    let mut images: BTreeMap<(usize, &'static str), Built> = BTreeMap::new();
    let mut imports: Vec<Result<Imported, String>> = Vec::new();
    for (index, build) in entry.builds.iter().enumerate() {
        imports.push(import(work.path(), &src, index, build));
    }
    for way in &ways {
        for (index, build) in entry.builds.iter().enumerate() {
            let args = build_args(entry, index, way.name(), &images);
            let tag = tracked.tag(index, way.slug());
            let built = match (way, &imports[index]) {
                (Way::Classic, _) => docker_build(&src, build, &args, &tag, &[], &mut tracked),
                (Way::Stages(backend), Ok(imported)) => {
                    stages_build(imported, backend, &args, &tag, &mut tracked)
                }
                (Way::Stages(_), Err(e)) => Built {
                    result: Err(e.clone()),
                    seconds: 0.0,
                },
            };
            images.insert((index, way.name()), built);
        }
    }

    for (index, build) in entry.builds.iter().enumerate() {
        let reference_image = reference
            .and_then(|name| images.get(&(index, name)))
            .and_then(|built| built.result.as_ref().ok());
        let expected = reference_image.map(|image| (image_config(image), image_tree(image)));
        for way in &ways {
            let built = &images[&(index, way.name())];
            let mut row = row(&build.tag, way.name(), Verdict::Identical);
            row.seconds = Some(built.seconds);
            match (&built.result, refuses(entry, way.name())) {
                // `--backend dockerfile` must say why, before it builds:
                // BuildKit named, or a feature `check` refuses for it.
                (Err(e), true)
                    if way.name() == CLASSIC
                        || e.contains("BuildKit")
                        || e.contains("stages::check::unsupported-feature") =>
                {
                    row.verdict = Verdict::RefusedAsExpected;
                    row.details.push(first_line(e));
                }
                (Err(e), _) => {
                    row.verdict = Verdict::Failed;
                    row.details.push(e.clone());
                }
                (Ok(_), true) if way.name() == CLASSIC => {
                    row.verdict = Verdict::Failed;
                    row.details
                        .push("the classic builder built a project marked buildkit_only".into());
                }
                (Ok(image), _) => {
                    if Some(way.name()) == reference {
                        row.verdict = Verdict::Reference;
                    } else if let Some((config, tree)) = &expected {
                        let actual = image_config(image);
                        row.details =
                            match (reference == Some("buildkit"), way.name() == "buildkit") {
                                (false, false) | (true, true) => differences(config, &actual),
                                (buildkit_expected, _) => {
                                    differences_across_buildkit(config, &actual, buildkit_expected)
                                }
                            };
                        row.details
                            .extend(tree_differences(&entry.name, tree, &image_tree(image)));
                        if !row.details.is_empty() {
                            row.verdict = Verdict::Differs;
                        }
                    } else {
                        row.verdict = Verdict::NoReference;
                    }
                    if let Some(test) = entry.smoke.as_ref().filter(|s| s.image == build.tag) {
                        row.smoke = Some(smoke(test, image, &mut tracked));
                    }
                }
            }
            report.rows.push(row);
        }
    }
    for (index, build) in entry.builds.iter().enumerate() {
        if let (Some(CLASSIC), Ok(imported)) = (reference, &imports[index]) {
            compare_artifacts(ArtifactBuild {
                work: work.path(),
                src: &src,
                index,
                build,
                imported,
                ways: &ways,
                images: &images,
                entry,
                rows: &mut report.rows,
                tracked: &mut tracked,
            });
        }
    }
    drop(tracked);
    report
}

/// What the artifact comparison of one build needs.
struct ArtifactBuild<'a> {
    work: &'a Path,
    src: &'a Path,
    index: usize,
    build: &'a super::manifest::BuildEntry,
    imported: &'a Imported,
    ways: &'a [Way],
    images: &'a BTreeMap<(usize, &'static str), Built>,
    entry: &'a ProjectEntry,
    rows: &'a mut Vec<Row>,
    tracked: &'a mut Tracked,
}

/// Each artifact exported to the host by each back end that built the
/// image, against what `docker cp` takes from the classic build; the
/// differences go to that back end's row.
fn compare_artifacts(job: ArtifactBuild<'_>) {
    let args = build_args(job.entry, job.index, CLASSIC, job.images);
    for artifact in &job.imported.artifacts {
        let expected_dir = job
            .work
            .join(format!("docker-cp-{}-{}", job.index, artifact.name));
        let expected = docker_cp(
            job.src,
            job.build,
            &args,
            artifact,
            &expected_dir,
            job.tracked,
        )
        .map(|()| host_tree(&expected_dir));
        for way in job.ways {
            let Way::Stages(backend) = way else { continue };
            let built = &job.images[&(job.index, way.name())];
            if built.result.is_err() {
                continue;
            }
            let Some(row) = job
                .rows
                .iter_mut()
                .find(|r| r.build == job.build.tag && r.way == way.name())
            else {
                continue;
            };
            let out = job.work.join(format!(
                "exported-{}-{}-{}",
                job.index, backend.name, artifact.name
            ));
            let args = build_args(job.entry, job.index, way.name(), job.images);
            let found = match (
                &expected,
                stages_export(job.imported, backend, &args, artifact, &out),
            ) {
                (Err(e), _) => vec![format!("artifact {}: no reference: {e}", artifact.name)],
                (_, Err(e)) => vec![format!("artifact {}: {e}", artifact.name)],
                (Ok(expected), Ok(())) => host_differences(expected, &host_tree(&out))
                    .into_iter()
                    .map(|d| format!("artifact {}: {d}", artifact.name))
                    .collect(),
            };
            if !found.is_empty() {
                row.verdict = Verdict::Differs;
                row.details.extend(found);
            }
        }
    }
}

/// The build's arguments, a value naming an earlier build's tag replaced
/// by that build's image made the same way.
fn build_args(
    entry: &ProjectEntry,
    index: usize,
    way: &str,
    images: &BTreeMap<(usize, &'static str), Built>,
) -> Vec<(String, String)> {
    entry.builds[index]
        .build_args
        .iter()
        .map(|(key, value)| {
            let earlier = entry.builds[..index].iter().position(|b| &b.tag == value);
            let value = earlier
                .and_then(|i| images.get(&(i, way)))
                .and_then(|built| built.result.as_ref().ok())
                .map_or_else(|| value.clone(), Clone::clone);
            (key.clone(), value)
        })
        .collect()
}

/// Whether this way is expected to refuse the project: the Engine's
/// classic builder (directly or through `--backend dockerfile`) cannot
/// build what only BuildKit can.
fn refuses(entry: &ProjectEntry, way: &str) -> bool {
    entry.buildkit_only && (way == CLASSIC || way == "dockerfile")
}

fn row(build: &str, way: &str, verdict: Verdict) -> Row {
    Row {
        build: build.to_owned(),
        way: way.to_owned(),
        verdict,
        seconds: None,
        smoke: None,
        details: Vec::new(),
    }
}

fn first_line(text: &str) -> String {
    text.chars().take(300).collect()
}
