//! Each command as the binary runs it, in process through the library,
//! plus the consistency properties: what `check` accepts exports, and
//! the export imports back to the same project; what `import` produces
//! passes `check` and survives the same round trip; `fmt` output reads
//! back as the input did.

use stages::check::check;
use stages::commands::common::LoadedProject;
use stages::commands::plan::render_plan;
use stages::config::model::{ArgDecl, Base, CopyFrom, Project, Stage, StepKind};
use stages::config::write::{WriteOptions, write_project};
use stages::convert::{ImportOptions, import_dockerfile_source};
use stages::diagnostics::{Diagnostic, SourceFile, Style, render_human, render_json};
use stages::dockerfile;
use stages::graph::{ProjectGraph, resolve_targets};

use super::mutate::Kind;

/// The commands an input of each kind goes through.
pub fn commands(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Toml => &["check", "plan", "graph", "export-dockerfile"],
        Kind::Dockerfile => &[
            "import",
            "dockerfile-dump",
            "dockerfile-outline",
            "dockerfile-fmt",
        ],
    }
}

/// Every command name, for the per-command counts.
pub const ALL_COMMANDS: &[&str] = &[
    "check",
    "plan",
    "graph",
    "export-dockerfile",
    "import",
    "dockerfile-dump",
    "dockerfile-outline",
    "dockerfile-fmt",
];

/// Runs `command` on `bytes`; `Err` is a broken property (a panic is
/// caught by the caller).
pub fn run(command: &str, bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    match command {
        "check" => check_command(&text),
        "plan" => plan(&text),
        "graph" => graph(&text),
        "export-dockerfile" => export(&text),
        "import" => import(&text),
        "dockerfile-dump" => dump(&text),
        "dockerfile-outline" => outline(&text),
        "dockerfile-fmt" => fmt(&text),
        other => Err(format!("no command {other}")),
    }
}

fn render(file: &SourceFile, diagnostics: &[Diagnostic]) {
    std::hint::black_box(render_human(file, diagnostics, Style::Plain));
    std::hint::black_box(render_human(file, diagnostics, Style::Color));
}

/// Checks and renders the diagnostics as `check` does; the project when clean.
fn checked(text: &str) -> Option<(SourceFile, Project)> {
    let file = SourceFile::new("stages.toml", text);
    let outcome = check(&file);
    render(&file, &outcome.diagnostics);
    std::hint::black_box(render_json(&file, &outcome.diagnostics));
    outcome.project.map(|project| (file, project))
}

fn check_command(text: &str) -> Result<(), String> {
    checked(text);
    Ok(())
}

fn loaded(file: SourceFile, project: Project) -> LoadedProject {
    let graph = ProjectGraph::new(&project);
    LoadedProject {
        path: "stages.toml".into(),
        dir: ".".into(),
        file,
        project,
        graph,
    }
}

fn plan(text: &str) -> Result<(), String> {
    let Some((file, project)) = checked(text) else {
        return Ok(());
    };
    let loaded = loaded(file, project);
    match resolve_targets(&loaded.project, &[]) {
        Ok(targets) => {
            std::hint::black_box(render_plan(&loaded, &targets));
        }
        Err(diagnostic) => render(&loaded.file, &[diagnostic]),
    }
    Ok(())
}

fn graph(text: &str) -> Result<(), String> {
    let Some((file, project)) = checked(text) else {
        return Ok(());
    };
    let loaded = loaded(file, project);
    let shown = loaded.graph.needed_stages(loaded.graph.stages());
    std::hint::black_box(loaded.graph.render_text(&loaded.project, &shown));
    std::hint::black_box(loaded.graph.render_dot(&loaded.project, &shown));
    std::hint::black_box(loaded.graph.render_mermaid(&loaded.project, &shown));
    Ok(())
}

/// `check` accepted it, so every stage exports, and the export imports
/// back to the same project.
fn export(text: &str) -> Result<(), String> {
    let Some((file, project)) = checked(text) else {
        return Ok(());
    };
    survives_export(&project).map_err(|why| {
        render(&file, &[]);
        format!("check accepts, but {why}")
    })
}

/// Every stage exported in dependency order, imported, compared in the
/// round trip's normal form (tests/roundtrip/model.rs).
pub fn survives_export(project: &Project) -> Result<(), String> {
    let (text, imported) = crate::model::export_then_import(project)?;
    let (before, after) = (normalise(project), normalise(&imported));
    if before != after {
        return Err(format!(
            "the export imports as another project\n{text}\nbefore: {before:?}\nafter:  {after:?}"
        ));
    }
    Ok(())
}

/// The round trip's normal form, plus: an official image spelled in full
/// (`docker.io/library/x`, as export writes an image that a stage's name
/// would shadow) is that image.
fn normalise(project: &Project) -> (Vec<ArgDecl>, Vec<Stage>) {
    let (args, mut stages) = crate::model::normalise(project);
    let short = |image: &mut String| {
        if let Some(rest) = image.strip_prefix("docker.io/library/") {
            *image = rest.to_owned();
        }
    };
    for stage in &mut stages {
        if let Base::Image(image) = &mut stage.from.value {
            short(image);
        }
        for step in &mut stage.steps {
            match &mut step.kind {
                StepKind::Copy(copy) => {
                    if let Some(CopyFrom::Image(image)) = &mut copy.from {
                        short(&mut image.value);
                    }
                }
                StepKind::Run(run) => {
                    for mount in &mut run.mounts {
                        if let Some(from) = &mut mount.value.from {
                            short(&mut from.value);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (args, stages)
}

/// As `stages import`: what it produces passes `check` and survives
/// export and import again.
fn import(text: &str) -> Result<(), String> {
    let source = SourceFile::new("Dockerfile", text);
    let parsed = match dockerfile::parse(text) {
        Ok(parsed) => parsed,
        Err(d) => {
            render(&source, &[d]);
            return Ok(());
        }
    };
    let imported = match import_dockerfile_source(&parsed, Some(text), &ImportOptions::default()) {
        Ok(imported) => imported,
        Err(diagnostics) => {
            render(&source, &diagnostics);
            return Ok(());
        }
    };
    let toml = write_project(
        &imported.project,
        &imported.notes,
        WriteOptions { schema: true },
    );
    let written = SourceFile::new("stages.toml (imported)", toml.as_str());
    let outcome = check(&written);
    render(&written, &outcome.diagnostics);
    let Some(project) = outcome.project else {
        let errors: Vec<&str> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.as_str())
            .collect();
        return Err(format!(
            "import writes a file check rejects: {errors:?}\n{toml}"
        ));
    };
    survives_export(&project).map_err(|why| format!("imported, but {why}\n{toml}"))
}

fn dump(text: &str) -> Result<(), String> {
    match dockerfile::parse(text) {
        Ok(parsed) => {
            std::hint::black_box(dockerfile::dump(&parsed));
        }
        Err(d) => render(&SourceFile::new("Dockerfile", text), &[d]),
    }
    Ok(())
}

fn outline(text: &str) -> Result<(), String> {
    let file = SourceFile::new("Dockerfile", text);
    let program = match dockerfile::read(text) {
        Ok(program) => program,
        Err(d) => {
            render(&file, &[d]);
            return Ok(());
        }
    };
    let diagnostics = program.check_graph();
    if !diagnostics.is_empty() {
        render(&file, &diagnostics);
        return Ok(());
    }
    let outline = dockerfile::outline::outline(&program, None);
    std::hint::black_box(outline.to_text());
    serde_json::to_string_pretty(&outline).map_err(|e| format!("outline JSON: {e}"))?;
    Ok(())
}

/// `fmt` output reads back as the input did, and is a fixed point.
fn fmt(text: &str) -> Result<(), String> {
    let file = SourceFile::new("Dockerfile", text);
    if let Err(d) = dockerfile::read(text) {
        render(&file, &[d]);
        return Ok(());
    }
    match crate::corpus::round_trip_mismatch(text) {
        Some(why) => Err(format!("fmt changes the meaning: {why}")),
        None => Ok(()),
    }
}
