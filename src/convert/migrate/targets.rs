//! The targets of the migrated project: one image target per build of a
//! production Dockerfile (its tags and build args), an artifact target for
//! files the script copied out that no Dockerfile uses, and the build
//! arguments checked against what the Dockerfiles declare.

use super::assemble::Named;
use super::codes;
use super::naming;
use super::paths;
use super::plan::{ArgValue, BuildArg, Plan};
use super::rewrite::Landed;
use super::units::{Finding, Unit};
use crate::check::output_outside_project;
use crate::config::model::{Project, StepKind, Target, TargetKind};
use crate::config::predefined_args::is_predefined;
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Located;

/// What the targets step leaves for the header.
#[derive(Debug, Default)]
pub struct TargetNotes {
    pub lines: Vec<String>,
}

pub struct TargetInput<'a> {
    pub units: &'a [(String, Vec<usize>, bool)],
    pub named: &'a Named,
    pub plan: &'a Plan,
    pub landed: &'a [(Landed, usize)],
    pub consumed: &'a [String],
    pub target_name: Option<&'a str>,
    /// The project directory seen from where stages.toml goes.
    pub root_from_output: &'a str,
}

/// The per-unit facts targets need: Dockerfile, builds, whether a builder.
pub fn unit_facts(units: &[Unit], named: &Named) -> Vec<(String, Vec<usize>, bool)> {
    units
        .iter()
        .zip(&named.builder)
        .map(|(u, b)| (u.dockerfile.clone(), u.builds.clone(), *b))
        .collect()
}

pub fn add_targets(
    project: &mut Project,
    input: &TargetInput<'_>,
    findings: &mut Vec<Finding>,
) -> TargetNotes {
    let mut notes = TargetNotes::default();
    let declared = declared_args(project);
    let mut taken: Vec<String> = Vec::new();
    let mut image_targets: Vec<usize> = Vec::new();
    // Build args of the builders apply to every target (they build the builders too).
    let mut builder_args: Vec<(String, Located<String>)> = Vec::new();
    let image_builds: Vec<(usize, usize)> = input
        .units
        .iter()
        .enumerate()
        .flat_map(|(u, (_, builds, builder))| {
            builds
                .iter()
                .filter(move |_| !*builder)
                .map(move |b| (*b, u))
        })
        .collect();
    for (unit, (_, builds, builder)) in input.units.iter().enumerate() {
        if !*builder {
            continue;
        }
        for &build in builds {
            let planned = &input.plan.builds[build];
            let tags: Vec<&str> = planned.tags.iter().map(|t| t.value.as_str()).collect();
            if !tags.is_empty() {
                notes.lines.push(format!(
                    "The script tagged the builder image `{}`; it is now the stage `{}` (`stages build {}` builds it alone).",
                    tags.join("`, `"),
                    input.named.main[unit],
                    input.named.main[unit]
                ));
            }
            for arg in &planned.args {
                if let Some(value) = usable_arg(arg, &declared, &mut notes, findings) {
                    builder_args.push((arg.name.clone(), Located::new(value, arg.span)));
                }
            }
        }
    }
    let last_image = image_builds.last().map(|(b, _)| *b);
    for &(build, unit) in &image_builds {
        let planned = &input.plan.builds[build];
        let stage = input.named.main[unit].clone();
        let wanted = match (input.target_name, Some(build) == last_image) {
            (Some(name), true) => name.to_owned(),
            _ => planned
                .tags
                .first()
                .map(|t| naming::repository_name(&t.value))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| stage.clone()),
        };
        let name = naming::unique(&wanted, &taken);
        taken.push(name.clone());
        let mut args: Vec<(Located<String>, Located<String>)> = Vec::new();
        for arg in &planned.args {
            if let Some(value) = usable_arg(arg, &declared, &mut notes, findings) {
                args.push((
                    Located::new(arg.name.clone(), arg.span),
                    Located::new(value, arg.span),
                ));
            }
        }
        for (name, value) in &builder_args {
            add_arg(&mut args, name, value, findings);
        }
        if planned.no_cache {
            notes.lines.push(format!(
                "The script built `{name}` with --no-cache: `stages build {name} --no-cache` does the same."
            ));
        }
        image_targets.push(project.targets.len());
        project.targets.push(Target {
            name: Located::unplaced(name),
            kind: TargetKind::Image {
                stage: Located::unplaced(stage),
                tags: planned.tags.clone(),
                labels: Vec::new(),
                platforms: Vec::new(),
            },
            args,
        });
    }
    add_artifact_targets(project, input, &mut taken, &builder_args, findings);
    // With no production image, the files for the host are what the script made.
    let default = image_targets
        .last()
        .copied()
        .or_else(|| (project.targets.len() == 1).then_some(0));
    if let Some(default) = default {
        project.default_target = Some(project.targets[default].name.clone());
    }
    let mut seen = std::collections::HashSet::new();
    notes.lines.retain(|line| seen.insert(line.clone()));
    notes
}

fn add_arg(
    args: &mut Vec<(Located<String>, Located<String>)>,
    name: &str,
    value: &Located<String>,
    findings: &mut Vec<Finding>,
) {
    match args.iter().find(|(n, _)| n.value == name) {
        Some((_, existing)) if existing.value != value.value => findings.push(Finding {
            file: 0,
            diagnostic: Diagnostic::warning(
                codes::CONFLICTING_ARG,
                format!("`{name}` is given two values by the builds of one target"),
            )
            .with_label(Label::primary(value.span, "this value was dropped"))
            .with_label(Label::secondary(existing.span, "this one is kept"))
            .with_help("one build of stages.toml gives each argument one value; give the stage its own arg name"),
        }),
        Some(_) => {}
        None => args.push((Located::new(name.to_owned(), value.span), value.clone())),
    }
}

/// Every arg name the project declares (global, stage, step).
fn declared_args(project: &Project) -> Vec<String> {
    let mut names: Vec<String> = project.args.iter().map(|a| a.name.value.clone()).collect();
    for stage in &project.stages {
        names.extend(stage.args.iter().map(|a| a.name.value.clone()));
        for step in &stage.steps {
            if let StepKind::Arg(args) = &step.kind {
                names.extend(args.iter().map(|a| a.name.value.clone()));
            }
        }
    }
    names
}

/// The value to put in a target's `args`, or `None` with a note or warning.
fn usable_arg(
    arg: &BuildArg,
    declared: &[String],
    notes: &mut TargetNotes,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    let predefined = is_predefined(&arg.name);
    if predefined && arg.name.to_ascii_lowercase().ends_with("proxy") {
        notes.lines.push(format!(
            "`{}` is one of Docker's predefined proxy args: no Dockerfile declares it and none needs to.{}",
            arg.name,
            if arg.value == ArgValue::Environment {
                format!(" The script passed the caller's own value: pass it with `stages build --build-arg {}=…`.", arg.name)
            } else {
                String::new()
            }
        ));
    }
    if !predefined && !declared.contains(&arg.name) {
        findings.push(Finding {
            file: 0,
            diagnostic: Diagnostic::warning(
                codes::UNUSED_BUILD_ARG,
                format!("no Dockerfile declares `{}`", arg.name),
            )
            .with_label(Label::primary(arg.span, "Docker ignores this build arg"))
            .with_help(format!(
                "declare it (`ARG {}`) where it is used, or drop it",
                arg.name
            )),
        });
        return None;
    }
    match &arg.value {
        ArgValue::Literal(value) => Some(value.clone()),
        ArgValue::Dynamic => None,
        ArgValue::Environment => {
            if !predefined {
                findings.push(Finding {
                    file: 0,
                    diagnostic: Diagnostic::warning(
                        codes::ENVIRONMENT_VALUE,
                        format!("`{}` takes its value from the caller's environment", arg.name),
                    )
                    .with_label(Label::primary(arg.span, "no value in the script"))
                    .with_help(format!(
                        "pass it with `stages build --build-arg {}=…`, or give a default in `[args]`",
                        arg.name
                    )),
                });
            }
            None
        }
    }
}

/// Files the script copied out that no Dockerfile consumes go to the host,
/// grouped by the directory the script put them in.
fn add_artifact_targets(
    project: &mut Project,
    input: &TargetInput<'_>,
    taken: &mut Vec<String>,
    builder_args: &[(String, Located<String>)],
    findings: &mut Vec<Finding>,
) {
    let mut groups: Vec<(String, Vec<Located<String>>)> = Vec::new();
    for (landed, _) in input.landed {
        if input.consumed.contains(&landed.artifact) {
            continue;
        }
        let Some(artifact) = project.artifact(&landed.artifact) else {
            continue;
        };
        let dir = paths::parent(&landed.dest);
        let in_image = paths::file_name(&artifact.path.value).to_owned();
        if paths::file_name(&landed.dest) != in_image {
            findings.push(Finding {
                file: 0,
                diagnostic: Diagnostic::warning(
                    codes::RENAMED_ON_HOST,
                    format!(
                        "the script saves `{}` as `{}`; the artifact target writes it as `{in_image}`",
                        artifact.path.value, landed.dest
                    ),
                )
                .with_label(Label::primary(artifact.name.span, "copied out here"))
                .with_help("rename it in the builder stage (`{ run = \"mv … …\" }`) or after the build"),
            });
        }
        let name = Located::new(landed.artifact.clone(), artifact.name.span);
        match groups.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, names)) => {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            None => groups.push((dir, vec![name])),
        }
    }
    for (dir, artifacts) in groups {
        let wanted = if dir == "." {
            "artifacts".to_owned()
        } else {
            naming::sanitize(paths::file_name(&dir))
        };
        let wanted = if wanted.is_empty() {
            "artifacts".to_owned()
        } else {
            wanted
        };
        let name = naming::unique(&wanted, taken);
        taken.push(name.clone());
        let mut output = paths::join(input.root_from_output, &dir);
        if output_outside_project(&output).is_some() {
            // stages.toml may only name directories beside or below itself.
            let span = artifacts.first().map(|a| a.span).unwrap_or_default();
            findings.push(Finding {
                file: 0,
                diagnostic: Diagnostic::warning(
                    codes::OUTPUT_OUTSIDE_RESULT,
                    format!(
                        "the script writes these files to `{output}`, outside the directory of stages.toml; target `{name}` exports them beside stages.toml"
                    ),
                )
                .with_label(Label::primary(span, "copied out here"))
                .with_help(format!(
                    "to write them where the script did, run `stages build --output {name}={output}` from that directory"
                )),
            });
            output = ".".to_owned();
        }
        let output = if output == "." {
            "./".to_owned()
        } else {
            format!("{output}/")
        };
        let mut args = Vec::new();
        for (arg, value) in builder_args {
            add_arg(&mut args, arg, value, findings);
        }
        project.targets.push(Target {
            name: Located::unplaced(name),
            kind: TargetKind::Artifacts {
                artifacts,
                output: Located::unplaced(output),
                platforms: Vec::new(),
            },
            args,
        });
    }
}
