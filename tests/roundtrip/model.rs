//! `import(export(c))` for configs: what "equal after normalisation" means
//! for a project, and the check itself.
//!
//! Normalisations (also in `docs/roundtrip.md`): stage keys (args, env,
//! workdir, user, shell) are compared as the steps they export to, ENV and
//! ARG one pair per step; an artifact copy as the `COPY --from=<stage>
//! <path>` it exports to (artifact names, targets and `[project]` are not
//! in a Dockerfile); a multi-line `run` ends with a newline (a heredoc body
//! always does); stages are compared by name.

use stages::config::forms::CommandForm;
use stages::config::model::{ArgDecl, Copy, CopyFrom, Project, Stage, Step, StepKind};
use stages::convert::{ExportOptions, ImportOptions, export_dockerfile, import_dockerfile};
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
                if let CommandForm::Shell(text) = &mut run.command.value
                    && text.contains('\n')
                    && !text.ends_with('\n')
                {
                    text.push('\n');
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

/// Exports every stage in dependency order, imports the result, and
/// compares both projects in normal form.
pub fn assert_survives(project: &Project, what: &str) {
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
    .unwrap_or_else(|d| panic!("{what}: export: {}", d.message));
    let file = parse(&exported.text)
        .unwrap_or_else(|d| panic!("{what}: parse: {}\n{}", d.message, exported.text));
    let imported = import_dockerfile(&file, &ImportOptions::default()).unwrap_or_else(|errors| {
        panic!(
            "{what}: import: {:?}\n{}",
            errors.iter().map(|e| &e.message).collect::<Vec<_>>(),
            exported.text
        )
    });
    assert_eq!(
        normalise(&imported.project),
        normalise(project),
        "{what}:\n{}",
        exported.text
    );
}
