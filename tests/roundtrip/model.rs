//! `import(export(c))` for configs: what "equal after normalisation" means
//! for a project, and the check itself.
//!
//! Normalisations (also in `docs/roundtrip.md`): stage keys (args, env,
//! workdir, user, shell) are compared as the steps they export to, ENV and
//! ARG one pair per step; an artifact copy as the `COPY --from=<stage>
//! <path>` it exports to (artifact names, targets and `[project]` are not
//! in a Dockerfile); a `run` laid out over continuation lines as the
//! command it joins to (export breaks long commands over lines, import
//! keeps the lines); a multi-line `run` ends with a newline (a heredoc body
//! always does); stages are compared by name.

use stages::config::continued;
use stages::config::forms::CommandForm;
use stages::config::model::{ArgDecl, Copy, CopyFrom, Project, Stage, Step, StepKind};
use stages::convert::{ExportOptions, ImportOptions, export_dockerfile, import_dockerfile_source};
use stages::dockerfile::parse;
use stages::graph::ProjectGraph;

/// Global args and stages, sorted by name, in the normal form above.
pub fn normalise(project: &Project) -> (Vec<ArgDecl>, Vec<Stage>) {
    let mut stages: Vec<Stage> = project.stages.iter().map(|s| stage(project, s)).collect();
    stages.sort_by(|a, b| a.name.value.cmp(&b.name.value));
    (project.args.clone(), stages)
}

fn stage(project: &Project, stage: &Stage) -> Stage {
    let step = |kind| Step {
        kind,
        span: Default::default(),
    };
    let mut steps = Vec::new();
    steps.extend(
        stage
            .args
            .iter()
            .map(|a| step(StepKind::Arg(vec![a.clone()]))),
    );
    steps.extend(
        stage
            .env
            .iter()
            .map(|p| step(StepKind::Env(vec![p.clone()]))),
    );
    steps.extend(stage.workdir.clone().map(|w| step(StepKind::Workdir(w))));
    steps.extend(stage.user.clone().map(|u| step(StepKind::User(u))));
    steps.extend(stage.shell.clone().map(|s| step(StepKind::Shell(s))));
    for original in &stage.steps {
        match &original.kind {
            StepKind::Env(pairs) => {
                steps.extend(pairs.iter().map(|p| step(StepKind::Env(vec![p.clone()]))))
            }
            StepKind::Arg(decls) => {
                steps.extend(decls.iter().map(|d| step(StepKind::Arg(vec![d.clone()]))))
            }
            StepKind::Artifact(copy) => {
                let artifact = project
                    .artifact(&copy.artifact)
                    .expect("export checked the artifact exists");
                steps.push(step(StepKind::Copy(Copy {
                    sources: vec![artifact.path.clone()],
                    to: copy.to.clone(),
                    from: Some(CopyFrom::Stage(artifact.stage.clone())),
                    options: copy.options.clone(),
                    exclude: Vec::new(),
                    parents: false,
                    heredocs: Vec::new(),
                })));
            }
            StepKind::Run(run) => {
                let mut run = run.clone();
                if let CommandForm::Shell(text) = &mut run.command.value {
                    *text = continued::command_text(text).into_owned();
                    if text.contains('\n') && !text.ends_with('\n') {
                        text.push('\n');
                    }
                }
                steps.push(step(StepKind::Run(run)));
            }
            other => steps.push(step(other.clone())),
        }
    }
    Stage {
        name: stage.name.clone(),
        from: stage.from.clone(),
        platform: stage.platform.clone(),
        args: Vec::new(),
        env: Vec::new(),
        workdir: None,
        user: None,
        shell: None,
        steps,
        config: stage.config.clone(),
    }
}

/// Exports every stage in dependency order and imports the result; gives
/// the exported text and the imported project, or what went wrong.
pub fn export_then_import(project: &Project) -> Result<(String, Project), String> {
    let all: Vec<String> = project
        .stages
        .iter()
        .map(|s| s.name.value.clone())
        .collect();
    let order = ProjectGraph::new(project).needed_stages(&all);
    let exported = export_dockerfile(
        project,
        &order,
        &ExportOptions {
            header: true,
            ..ExportOptions::default()
        },
    )
    .map_err(|d| format!("export fails: {}", d.message))?;
    let file = parse(&exported.text).map_err(|d| {
        format!(
            "the export does not parse: {}\n{}",
            d.message, exported.text
        )
    })?;
    let imported = import_dockerfile_source(&file, Some(&exported.text), &ImportOptions::default())
        .map_err(|errors| {
            let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
            format!(
                "the export does not import: {messages:?}\n{}",
                exported.text
            )
        })?;
    let text = exported.text.clone();
    Ok((text, imported.project))
}

/// Exports every stage in dependency order, imports the result, and
/// compares both projects in normal form.
pub fn assert_survives(project: &Project, what: &str) {
    let (text, imported) =
        export_then_import(project).unwrap_or_else(|why| panic!("{what}: {why}"));
    assert_eq!(normalise(&imported), normalise(project), "{what}:\n{text}");
}
