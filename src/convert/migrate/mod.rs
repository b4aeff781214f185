//! Migration of the builder pattern: a script (shell or Makefile) that
//! builds one image with the compilers, copies files out of it with
//! `docker create` + `docker cp` (or `docker run … cat`/tar), and builds a
//! slim image from a second Dockerfile, becomes one multi-stage project.
//!
//! The pipeline: `shell` (lexing with spans) / `makefile` (recipe lines) →
//! `plan` (what the script does, in order, with `docker` and `extract`
//! reading the commands) → `assemble` (imported Dockerfiles joined into
//! one project, extracted files turned into artifacts). Reads Dockerfiles
//! from the project directory; must not import `engine` or the terminal.

mod assemble;
pub mod codes;
mod container_runs;
mod docker;
mod extract;
mod makefile;
mod naming;
mod paths;
mod plan;
mod rename;
mod rewrite;
mod run_output;
mod shell;
mod targets;
mod units;
mod words;

use std::path::Path;

pub use units::Finding;

use crate::config::model::Project;
use crate::config::write::Notes;
use crate::diagnostics::{Diagnostic, Label, SourceFile};
use crate::located::Span;
use shell::Dialect;

/// What to migrate.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The project directory: the script's paths are relative to it.
    pub root: &'a Path,
    /// The script, project-relative (shown in messages).
    pub script_name: String,
    pub script_text: String,
    /// The name of the main image target.
    pub target_name: Option<String>,
    /// For a Makefile: the target the build script runs (`make image`);
    /// without one, the first target whose recipe runs `docker build`.
    pub make_target: Option<String>,
    /// The project directory seen from the directory the result is written
    /// to (`.` when it is written in the project directory): the context
    /// and the artifact outputs are written relative to the result.
    pub root_from_output: String,
}

/// The migrated project, the files diagnostics point into (the script
/// first, then each Dockerfile read) and every finding.
#[derive(Debug, Clone)]
pub struct Migration {
    pub project: Project,
    pub notes: Notes,
    pub files: Vec<SourceFile>,
    pub findings: Vec<Finding>,
}

impl Migration {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.diagnostic.is_error())
    }
}

/// Whether the script is a Makefile (by its name).
pub fn is_makefile(name: &str) -> bool {
    let file = paths::file_name(name);
    matches!(file, "Makefile" | "makefile" | "GNUmakefile") || file.ends_with(".mk")
}

/// Whether a Makefile has a target whose recipe runs `docker build`.
pub fn makefile_builds(text: &str) -> bool {
    makefile::find_recipe(text).is_some()
}

/// Whether `make target` in a Makefile runs `docker build`.
pub fn makefile_target_builds(text: &str, target: &str) -> bool {
    makefile::find_recipe_for(text, Some(target)).is_some()
}

/// Whether a shell script runs `docker build` (`docker image build`,
/// `docker buildx build`, `docker builder build`).
pub fn runs_docker_build(text: &str) -> bool {
    makefile::calls_docker_build(text)
}

pub fn migrate(request: &Request<'_>) -> Migration {
    let script = SourceFile::new(request.script_name.clone(), request.script_text.as_str());
    let mut files = vec![script.clone()];
    let mut findings: Vec<Finding> = Vec::new();
    let text = request.script_text.as_str();
    let root = request.root;
    let is_dir = |path: &str| root.join(path).is_dir();
    let (ranges, dialect, make_variables, recipe) = if is_makefile(&request.script_name) {
        match makefile::find_recipe_for(text, request.make_target.as_deref()) {
            Some(recipe) => (
                recipe.lines.clone(),
                Dialect { make: true },
                recipe.variables.clone(),
                Some(recipe),
            ),
            None => (Vec::new(), Dialect { make: true }, Vec::new(), None),
        }
    } else {
        (
            vec![Span::new(0, text.len())],
            Dialect::default(),
            Vec::new(),
            None,
        )
    };
    let input = plan::ScriptInput {
        text,
        ranges,
        dialect,
        make_variables,
        script_dir: paths::parent(&request.script_name),
        is_dir: &is_dir,
    };
    let plan = plan::plan(&input);
    findings.extend(plan.diagnostics.iter().cloned().map(|diagnostic| Finding {
        file: 0,
        diagnostic,
    }));
    let empty = |findings: Vec<Finding>, files: Vec<SourceFile>| Migration {
        project: Project::default(),
        notes: Notes::default(),
        files,
        findings,
    };
    if plan.builds.is_empty() {
        findings.push(no_build(&script, "the script never runs `docker build`"));
        return empty(findings, files);
    }
    let mut units = units::load_units(root, &plan.builds, &mut files, &mut findings);
    if units.is_empty() {
        findings.push(no_build(
            &script,
            "none of the script's builds could be migrated",
        ));
        return empty(findings, files);
    }
    if findings.iter().any(|f| f.diagnostic.is_error()) {
        return empty(findings, files);
    }
    let named = assemble::name_units(&mut units, &plan, &mut findings);
    let run_stages = container_runs::apply_runs(&mut units, &named, &plan, &script, &mut findings);
    let (artifacts, landed) = assemble::declare_artifacts(
        &mut units,
        &named,
        &plan,
        &run_stages,
        &script,
        &mut findings,
    );
    let consumed = assemble::rewrite_units(&mut units, &landed, &plan, root, &mut findings);
    let context = assemble::link_and_rebase(&mut units, &named, &plan);
    let facts = targets::unit_facts(&units, &named);
    let output_stages: Vec<Option<String>> = plan
        .run_outputs
        .iter()
        .map(|r| {
            r.build
                .and_then(|b| assemble::unit_of(&units, b))
                .map(|u| named.main[u].clone())
        })
        .collect();
    let stage_notes: Vec<(String, String)> = units
        .iter()
        .zip(&named.main)
        .map(|(u, main)| {
            let first = u.project.stages.first().map_or(main, |s| &s.name.value);
            (first.clone(), u.dockerfile.clone())
        })
        .collect();
    let (mut project, mut notes) = assemble::merge(units, &mut findings);
    project.context = paths::join(&request.root_from_output, &context);
    project.artifacts.extend(artifacts);
    for (run, stage) in plan.run_outputs.iter().zip(&output_stages) {
        findings.push(run_output::run_output_warning(
            run,
            stage.as_deref(),
            &project,
        ));
    }
    let target_notes = targets::add_targets(
        &mut project,
        &targets::TargetInput {
            units: &facts,
            named: &named,
            plan: &plan,
            landed: &landed,
            consumed: &consumed,
            target_name: request.target_name.as_deref(),
            root_from_output: &request.root_from_output,
        },
        &mut findings,
    );
    for (stage, dockerfile) in stage_notes {
        notes
            .stages
            .entry(stage)
            .or_default()
            .insert(0, format!("From {dockerfile}."));
    }
    let mut choices = plan.notes.clone();
    choices.extend(target_notes.lines);
    choices.extend(how_to_build(&project));
    notes.header = header(&files, &findings, recipe.as_ref(), &choices);
    Migration {
        project,
        notes,
        files,
        findings,
    }
}

fn no_build(script: &SourceFile, message: &str) -> Finding {
    let end = script
        .text
        .len()
        .min(script.text.find('\n').unwrap_or(script.text.len()));
    Finding {
        file: 0,
        diagnostic: Diagnostic::error(codes::NO_BUILD, message)
            .with_label(Label::primary(Span::new(0, end), "in this script"))
            .with_help(
                "point --script at the file that runs `docker build -f … .` and `docker cp`",
            ),
    }
}

/// Warnings about something converted, only not word for word.
const CONVERTED_WITH_A_CHANGE: &[&str] = &[codes::MAINTAINER];

/// The comment at the top: where it came from and what is left to do.
fn header(
    files: &[SourceFile],
    findings: &[Finding],
    recipe: Option<&makefile::Recipe>,
    target_notes: &[String],
) -> Vec<String> {
    let script = &files[0].name;
    let mut lines = vec![match recipe {
        Some(recipe) => format!(
            "Migrated from target `{}` of {script} by `stages migrate`.",
            recipe.target
        ),
        None => format!("Migrated from {script} by `stages migrate`."),
    }];
    let mut warnings: Vec<&Finding> = findings
        .iter()
        .filter(|f| !f.diagnostic.is_error())
        .collect();
    warnings.sort_by_key(|f| (f.file, f.diagnostic.primary_span().map(|s| s.start)));
    let (changed, todo): (Vec<&Finding>, Vec<&Finding>) = warnings
        .into_iter()
        .partition(|f| CONVERTED_WITH_A_CHANGE.contains(&f.diagnostic.code));
    let item = |finding: &Finding| {
        let file = &files[finding.file];
        let line = finding
            .diagnostic
            .primary_span()
            .map_or(1, |s| file.line_column(s.start).0);
        format!(
            "- {} line {line}: {}",
            file.name, finding.diagnostic.message
        )
    };
    lines.push(String::new());
    if todo.is_empty() {
        lines.push("Nothing was left to finish by hand.".to_owned());
    } else {
        lines.push(format!("Left for a person to finish ({}):", todo.len()));
        lines.extend(todo.into_iter().map(item));
    }
    if !changed.is_empty() {
        lines.push(String::new());
        lines.push("Converted with a change:".to_owned());
        lines.extend(changed.into_iter().map(item));
    }
    if !target_notes.is_empty() {
        lines.push(String::new());
        lines.extend(target_notes.iter().cloned());
    }
    if let Some(recipe) = recipe.filter(|r| !r.others.is_empty()) {
        lines.push(format!(
            "Other targets of {script} were not read: {}.",
            recipe.others.join(", ")
        ));
    }
    lines
}

/// Header lines that say how to build each target and all of them: a
/// migrated project with several images has one default target only.
fn how_to_build(project: &crate::config::model::Project) -> Vec<String> {
    let names: Vec<&str> = project
        .targets
        .iter()
        .map(|t| t.name.value.as_str())
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    let default = match &project.default_target {
        Some(default) => format!("the default target, {}", default.value),
        None if names.len() == 1 => format!("the target {}", names[0]),
        None => format!("every target ({})", names.join(", ")),
    };
    let mut lines = vec![format!("`stages build` builds {default}.")];
    if names.len() > 1 {
        lines.push(format!(
            "One target: {}.",
            names
                .iter()
                .map(|n| format!("`stages build {n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        lines.push("Every target: `stages build --all`.".to_owned());
    }
    lines
}

/// How to reach `path` from `from`, lexically (`..` where needed).
pub fn relative_path(path: &str, from: &str) -> String {
    paths::relative(path, from)
}
