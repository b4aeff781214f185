//! Assembly: the imported Dockerfiles joined into one project. Each build
//! unit's stages get their names; the files the script copied out become
//! artifacts of the builder's stage; the production stages copy them; what
//! no Dockerfile consumes becomes an artifact target; the script's tags and
//! build args become image targets.

use std::collections::HashMap;
use std::path::Path;

use super::naming;
use super::paths;
use super::plan::{Plan, normalize_image};
use super::rename;
use super::rewrite::{Landed, rewrite_stage};
use super::units::{Finding, Unit};
use crate::config::model::{Artifact, Project, Stage, StepKind};
use crate::config::write::Notes;
use crate::diagnostics::{Diagnostic, Label, SourceFile};
use crate::located::Located;

/// What the assembly knows about each unit once named.
pub struct Named {
    /// The stage each unit's image is (its `--target` or its last stage).
    pub main: Vec<String>,
    /// Units whose image the script copies files out of.
    pub builder: Vec<bool>,
}

/// Gives every unit's stages their final names (and unique artifact names).
pub fn name_units(units: &mut [Unit], plan: &Plan, findings: &mut Vec<Finding>) -> Named {
    let mut taken_stages: Vec<String> = Vec::new();
    let mut taken_artifacts: Vec<String> = Vec::new();
    let mut main = Vec::new();
    let mut builder = Vec::new();
    for unit in units.iter_mut() {
        let is_builder = plan
            .extractions
            .iter()
            .any(|e| unit.builds.contains(&e.build));
        builder.push(is_builder);
        if let Some(target) = &unit.target {
            if unit.project.stage(&target.to_ascii_lowercase()).is_none() {
                let span = unit
                    .builds
                    .first()
                    .and_then(|b| plan.builds[*b].target.as_ref())
                    .map_or_else(Default::default, |t| t.span);
                findings.push(Finding {
                    file: 0,
                    diagnostic: Diagnostic::warning(
                        super::codes::DOCKERFILE,
                        format!("`{}` has no stage named `{target}`", unit.dockerfile),
                    )
                    .with_label(Label::primary(span, "no such stage"))
                    .with_help("the last stage is used instead; fix `--target` and migrate again"),
                });
            }
            keep_needed(&mut unit.project, &target.to_ascii_lowercase());
        }
        let main_index = unit
            .target
            .as_ref()
            .and_then(|t| {
                let t = t.to_ascii_lowercase();
                unit.project.stages.iter().position(|s| s.name.value == t)
            })
            .unwrap_or(unit.project.stages.len().saturating_sub(1));
        let base = naming::unique(
            &naming::stage_base(&unit.dockerfile, is_builder),
            &taken_stages,
        );
        let mut map = HashMap::new();
        for (index, stage) in unit.project.stages.iter().enumerate() {
            let wanted = if index == main_index {
                base.clone()
            } else {
                format!("{base}-{}", stage.name.value)
            };
            let name = naming::unique(&wanted, &taken_stages);
            taken_stages.push(name.clone());
            map.insert(stage.name.value.clone(), name);
        }
        main.push(
            map.get(
                &unit
                    .project
                    .stages
                    .get(main_index)
                    .map_or(String::new(), |s| s.name.value.clone()),
            )
            .cloned()
            .unwrap_or(base),
        );
        rename::rename_stages(&mut unit.project, &mut unit.notes, &map);
        let mut artifact_map = HashMap::new();
        for artifact in &unit.project.artifacts {
            let name = naming::unique(&artifact.name.value, &taken_artifacts);
            taken_artifacts.push(name.clone());
            artifact_map.insert(artifact.name.value.clone(), name);
        }
        rename::rename_artifacts(&mut unit.project, &artifact_map);
    }
    Named { main, builder }
}

/// `docker build --target X` builds X and what it needs: the other stages go.
fn keep_needed(project: &mut Project, target: &str) {
    if project.stage(target).is_none() {
        return;
    }
    let needed = crate::graph::ProjectGraph::new(project).needed_stages(&[target.to_owned()]);
    project.stages.retain(|s| needed.contains(&s.name.value));
    project
        .artifacts
        .retain(|a| needed.contains(&a.stage.value));
}

/// The unit that holds build `build`.
pub fn unit_of(units: &[Unit], build: usize) -> Option<usize> {
    units.iter().position(|u| u.builds.contains(&build))
}

/// A stage's working directory at its end, absolute (`/` when unset).
pub fn final_workdir(stage: &Stage) -> String {
    let mut dir = stage
        .workdir
        .as_ref()
        .map_or("/".to_owned(), |w| paths::join("/", &w.value));
    for step in &stage.steps {
        if let StepKind::Workdir(w) = &step.kind {
            dir = paths::join(&dir, &w.value);
        }
    }
    dir
}

/// The artifacts the script copied out, declared on the builders' stages
/// (on the stage holding what a container's command made, `run_stages`,
/// when the container ran first).
pub fn declare_artifacts(
    units: &mut [Unit],
    named: &Named,
    plan: &Plan,
    run_stages: &[Option<String>],
    script: &SourceFile,
    findings: &mut Vec<Finding>,
) -> (Vec<Artifact>, Vec<(Landed, usize)>) {
    let mut taken: Vec<String> = units
        .iter()
        .flat_map(|u| u.project.artifacts.iter().map(|a| a.name.value.clone()))
        .collect();
    let mut artifacts: Vec<Artifact> = Vec::new();
    let mut landed = Vec::new();
    for extraction in &plan.extractions {
        let Some(unit) = unit_of(units, extraction.build) else {
            findings.push(Finding {
                file: 0,
                diagnostic: Diagnostic::warning(
                    super::codes::NOT_MIGRATED,
                    "this copies out of an image whose build was left out",
                )
                .with_label(Label::primary(extraction.span, "not migrated"))
                .with_help("migrate the build first (its Dockerfile is missing)"),
            });
            continue;
        };
        let stage_name = extraction
            .run
            .and_then(|r| run_stages.get(r).cloned().flatten())
            .unwrap_or_else(|| named.main[unit].clone());
        let path = if extraction.path.starts_with('/') {
            paths::normalize(&extraction.path)
        } else {
            let workdir = units[unit]
                .project
                .stage(&stage_name)
                .map_or("/".to_owned(), final_workdir);
            paths::join(&workdir, &extraction.path)
        };
        let existing = artifacts
            .iter()
            .find(|a| a.stage.value == stage_name && a.path.value == path);
        let name = match existing {
            Some(artifact) => artifact.name.value.clone(),
            None => {
                let mut base = naming::sanitize(paths::file_name(&path));
                if base.is_empty() {
                    base = naming::sanitize(paths::file_name(&extraction.dest));
                }
                if base.is_empty() {
                    base = format!("{stage_name}-output");
                }
                let name = naming::unique(&base, &taken);
                taken.push(name.clone());
                artifacts.push(Artifact {
                    name: Located::new(name.clone(), extraction.span),
                    stage: Located::unplaced(stage_name.clone()),
                    path: Located::new(path.clone(), extraction.span),
                    description: Some(format!(
                        "copied out by {}",
                        origin(script, extraction.span.start)
                    )),
                });
                name
            }
        };
        landed.push((
            Landed {
                artifact: name,
                dest: extraction.dest.clone(),
                origin: origin(script, extraction.span.start),
                order: extraction.order,
            },
            unit,
        ));
    }
    (artifacts, landed)
}

/// `build.sh line 7`.
pub fn origin(file: &SourceFile, offset: usize) -> String {
    format!("{} line {}", file.name, file.line_column(offset).0)
}

/// Turns COPY/ADD of extracted files into artifact copies in every unit
/// built after the files were copied out, but the one they came from. Returns the artifacts now consumed.
pub fn rewrite_units(
    units: &mut [Unit],
    landed: &[(Landed, usize)],
    plan: &Plan,
    root: &Path,
    findings: &mut Vec<Finding>,
) -> Vec<String> {
    let has_other_files = |dir: &str, extracted: &[String]| other_files(root, dir, extracted);
    let mut consumed = Vec::new();
    for (index, unit) in units.iter_mut().enumerate() {
        // A build sees only the files copied out before it runs.
        let last_build = unit
            .builds
            .iter()
            .map(|b| plan.builds[*b].order)
            .max()
            .unwrap_or(0);
        let from_others: Vec<Landed> = landed
            .iter()
            .filter(|(l, u)| *u != index && l.order < last_build)
            .map(|(l, _)| l.clone())
            .collect();
        if from_others.is_empty() {
            continue;
        }
        for stage in &mut unit.project.stages {
            let name = stage.name.value.clone();
            let mut notes: HashMap<usize, Vec<String>> = unit
                .notes
                .steps
                .iter()
                .filter(|((s, _), _)| *s == name)
                .map(|((_, i), v)| (*i, v.clone()))
                .collect();
            unit.notes.steps.retain(|(s, _), _| *s != name);
            let out = rewrite_stage(
                stage,
                &unit.context,
                &from_others,
                &has_other_files,
                &mut notes,
            );
            for (i, lines) in notes {
                unit.notes.steps.insert((name.clone(), i), lines);
            }
            consumed.extend(out.consumed);
            findings.extend(out.diagnostics.into_iter().map(|diagnostic| Finding {
                file: unit.file,
                diagnostic,
            }));
        }
    }
    consumed
}

/// Whether the project directory `dir` holds files other than `extracted`
/// (and what is under them). A directory that does not exist holds nothing.
fn other_files(root: &Path, dir: &str, extracted: &[String]) -> bool {
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return false;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = paths::join(dir, &name);
        if extracted.iter().any(|e| paths::is_within(&path, e)) {
            continue;
        }
        let inside = extracted.iter().any(|e| paths::is_within(e, &path));
        if !inside || other_files(root, &path, extracted) {
            return true;
        }
    }
    false
}

/// Points `FROM`/`COPY --from` of a built image at its stage, and
/// rebases each unit's context sources on the joint context. Returns the
/// joint context (project-relative).
pub fn link_and_rebase(units: &mut [Unit], named: &Named, plan: &Plan) -> String {
    let mut by_image = HashMap::new();
    for (index, unit) in units.iter().enumerate() {
        for &build in &unit.builds {
            for tag in &plan.builds[build].tags {
                by_image.insert(normalize_image(&tag.value), named.main[index].clone());
            }
        }
    }
    let common = common_dir(units.iter().map(|u| u.context.as_str()));
    for unit in units.iter_mut() {
        rename::link_images(&mut unit.project, &by_image);
        let prefix =
            paths::strip_dir(&unit.context, &common).unwrap_or_else(|| unit.context.clone());
        rename::rebase_sources(&mut unit.project, &prefix);
    }
    common
}

/// The deepest directory holding all of `dirs`.
fn common_dir<'a>(dirs: impl Iterator<Item = &'a str>) -> String {
    let mut common: Option<Vec<&str>> = None;
    for dir in dirs {
        let parts: Vec<&str> = if dir == "." {
            Vec::new()
        } else {
            dir.split('/').collect()
        };
        common = Some(match common {
            None => parts,
            Some(c) => c
                .iter()
                .zip(&parts)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    match common {
        Some(parts) if !parts.is_empty() => parts.join("/"),
        _ => ".".to_owned(),
    }
}

/// All units' stages, args, artifacts and comments in one project.
pub fn merge(units: Vec<Unit>, findings: &mut Vec<Finding>) -> (Project, Notes) {
    let mut project = Project {
        context: ".".into(),
        ..Project::default()
    };
    let mut notes = Notes::default();
    for unit in units {
        for arg in unit.project.args {
            match project.args.iter().find(|a| a.name.value == arg.name.value) {
                Some(existing) if existing.default != arg.default => findings.push(Finding {
                    file: unit.file,
                    diagnostic: Diagnostic::warning(
                        super::codes::CONFLICTING_ARG,
                        format!(
                            "the global ARG `{}` has another default in an earlier Dockerfile",
                            arg.name.value
                        ),
                    )
                    .with_label(Label::primary(arg.name.span, "this default was dropped"))
                    .with_help("the first Dockerfile's default is kept in `[args]`; set the value per target with `args`"),
                }),
                Some(_) => {}
                None => project.args.push(arg),
            }
        }
        project.stages.extend(unit.project.stages);
        project.artifacts.extend(unit.project.artifacts);
        notes.args.extend(unit.notes.args);
        notes.stages.extend(unit.notes.stages);
        notes.keys.extend(unit.notes.keys);
        notes.steps.extend(unit.notes.steps);
        notes.trailing.extend(unit.notes.trailing);
    }
    (project, notes)
}
