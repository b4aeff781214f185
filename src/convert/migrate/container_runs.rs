//! The commands containers ran before the script copied files out of
//! them (`docker run --name b IMAGE`, `docker start`, a command piped into
//! `tar -x`) become build steps: the image's command (or the one given)
//! is the last `run` step of the builder's stage, so the artifacts are
//! what that command made. When another stage builds on the builder's
//! stage, the steps go into a stage of their own on top of it instead,
//! so that stage still sees the image the script built.

use super::assemble::{Named, final_workdir, origin, unit_of};
use super::codes;
use super::naming;
use super::plan::{Capture, ContainerRun, Plan, normalize_image};
use super::units::{Finding, Unit};
use crate::config::forms::CommandForm;
use crate::config::model::{Base, CopyFrom, Project, Run, Stage, Step, StepKind};
use crate::diagnostics::{Diagnostic, Label, SourceFile};
use crate::located::Located;

/// Adds the steps of every container run some extraction reads; returns,
/// per run, the stage whose filesystem holds what it made.
pub fn apply_runs(
    units: &mut [Unit],
    named: &Named,
    plan: &Plan,
    script: &SourceFile,
    findings: &mut Vec<Finding>,
) -> Vec<Option<String>> {
    let mut stages = vec![None; plan.container_runs.len()];
    for (index, run) in plan.container_runs.iter().enumerate() {
        if !plan.extractions.iter().any(|e| e.run == Some(index)) {
            continue;
        }
        let Some(unit) = unit_of(units, run.build) else {
            continue;
        };
        let main = named.main[unit].clone();
        let Some(stage) = units[unit].project.stage(&main) else {
            continue;
        };
        let Some(command) = command_of(run, &units[unit].project, stage) else {
            findings.push(Finding {
                file: 0,
                diagnostic: unknown_command(run, &main, stage),
            });
            stages[index] = Some(main);
            continue;
        };
        let steps = steps_of(run, command, &final_workdir(stage));
        let ran_at = origin(script, run.span.start);
        let tags: Vec<String> = units[unit]
            .builds
            .iter()
            .flat_map(|b| {
                plan.builds[*b]
                    .tags
                    .iter()
                    .map(|t| normalize_image(&t.value))
            })
            .collect();
        let target = if is_used(units, &main, &tags) {
            let taken: Vec<String> = units
                .iter()
                .flat_map(|u| u.project.stages.iter().map(|s| s.name.value.clone()))
                .collect();
            let name = naming::unique(&format!("{main}-run"), &taken);
            let project = &mut units[unit].project;
            let at = project
                .stages
                .iter()
                .position(|s| s.name.value == main)
                .map_or(project.stages.len(), |p| p + 1);
            project.stages.insert(at, run_stage(&name, &main));
            units[unit].notes.stages.entry(name.clone()).or_default().push(format!(
                "The command the container ran at {ran_at}, on top of `{main}`, which other stages build on."
            ));
            name
        } else {
            main
        };
        if let Some(stage) = units[unit]
            .project
            .stages
            .iter_mut()
            .find(|s| s.name.value == target)
        {
            units[unit]
                .notes
                .steps
                .entry((target.clone(), stage.steps.len()))
                .or_default()
                .push(format!("the command the container ran at {ran_at}"));
            stage.steps.extend(steps);
        }
        stages[index] = Some(target);
    }
    stages
}

/// A stage on top of `base` that only runs the container's command.
fn run_stage(name: &str, base: &str) -> Stage {
    Stage {
        name: Located::unplaced(name.to_owned()),
        from: Located::unplaced(Base::Stage(base.to_owned())),
        platform: None,
        args: Vec::new(),
        env: Vec::new(),
        workdir: None,
        user: None,
        shell: None,
        steps: Vec::new(),
        config: Default::default(),
    }
}

/// Whether any stage builds on `stage` or copies from it (by name, or by
/// an image tag of its build, which is linked to the stage later).
fn is_used(units: &[Unit], stage: &str, tags: &[String]) -> bool {
    let names_it =
        |reference: &str| reference == stage || tags.contains(&normalize_image(reference));
    units.iter().any(|unit| {
        unit.project.stages.iter().any(|s| {
            let from = match &s.from.value {
                Base::Stage(name) => name == stage,
                Base::Image(image) => tags.contains(&normalize_image(image)),
            };
            from || s.steps.iter().any(|step| match &step.kind {
                StepKind::Copy(copy) => match &copy.from {
                    Some(CopyFrom::Stage(name) | CopyFrom::Image(name)) => names_it(&name.value),
                    None => false,
                },
                StepKind::Run(run) => run
                    .mounts
                    .iter()
                    .any(|m| m.value.from.as_ref().is_some_and(|f| names_it(&f.value))),
                _ => false,
            })
        }) || unit
            .project
            .artifacts
            .iter()
            .any(|a| a.stage.value == stage)
    })
}

/// What the container ran, as Docker decides it: `--entrypoint` replaces
/// the image's entrypoint and drops its CMD; arguments after the image
/// replace the CMD; a shell-form ENTRYPOINT ignores the CMD. `None` when
/// it comes from a base image stages.toml cannot see.
fn command_of(run: &ContainerRun, project: &Project, stage: &Stage) -> Option<CommandForm> {
    let (image_entrypoint, image_cmd) = image_command(project, stage);
    let entrypoint = match &run.entrypoint {
        Some(given) => Some(CommandForm::Exec(vec![given.clone()])),
        None => image_entrypoint.unwrap_or(None),
    };
    let cmd = if !run.command.is_empty() {
        Some(CommandForm::Exec(run.command.clone()))
    } else if run.entrypoint.is_some() {
        None
    } else {
        match image_cmd {
            Some(cmd) => cmd,
            // The CMD of an image the project does not build.
            None if entrypoint.is_none() => return None,
            None => None,
        }
    };
    match (entrypoint, cmd) {
        (Some(CommandForm::Shell(text)), _) => Some(CommandForm::Shell(text)),
        (Some(CommandForm::Exec(mut words)), Some(CommandForm::Exec(args))) => {
            words.extend(args);
            Some(CommandForm::Exec(words))
        }
        (Some(CommandForm::Exec(mut words)), Some(CommandForm::Shell(text))) => {
            words.extend(["/bin/sh".to_owned(), "-c".to_owned(), text]);
            Some(CommandForm::Exec(words))
        }
        (Some(entrypoint), None) => Some(entrypoint),
        (None, cmd) => cmd,
    }
}

/// The entrypoint and CMD a stage's image ends with, following the stages
/// it is built on: `Some(None)` is known to be unset, `None` unknown (set,
/// or not, by an image from outside). An ENTRYPOINT resets the CMD it
/// inherits, as Docker does.
#[allow(clippy::type_complexity)]
fn image_command(
    project: &Project,
    stage: &Stage,
) -> (Option<Option<CommandForm>>, Option<Option<CommandForm>>) {
    let mut entrypoint: Option<Option<CommandForm>> = None;
    let mut cmd: Option<Option<CommandForm>> = None;
    let mut current = Some(stage);
    let mut seen = 0;
    while let Some(stage) = current {
        if cmd.is_none() {
            if let Some(c) = &stage.config.cmd {
                cmd = Some(Some(c.value.clone()));
            } else if stage.config.entrypoint.is_some() {
                cmd = Some(None);
            }
        }
        if entrypoint.is_none()
            && let Some(e) = &stage.config.entrypoint
        {
            entrypoint = Some(Some(e.value.clone()));
        }
        seen += 1;
        current = match &stage.from.value {
            Base::Stage(base) if seen <= project.stages.len() => project.stage(base),
            Base::Image(image) if image == "scratch" => {
                entrypoint.get_or_insert(None);
                cmd.get_or_insert(None);
                None
            }
            _ => None,
        };
    }
    (entrypoint, cmd)
}

/// The steps that do what the container did, in a stage whose working
/// directory is `workdir` by then.
fn steps_of(run: &ContainerRun, command: CommandForm, workdir: &str) -> Vec<Step> {
    let step = |kind| Step {
        kind,
        span: Default::default(),
    };
    let mut steps = Vec::new();
    if let Some(workdir) = run
        .workdir
        .as_ref()
        .filter(|w| super::paths::join(workdir, w) != workdir)
    {
        steps.push(step(StepKind::Workdir(Located::unplaced(workdir.clone()))));
    }
    if !run.env.is_empty() {
        steps.push(step(StepKind::Env(
            run.env
                .iter()
                .map(|(k, v)| (Located::unplaced(k.clone()), Located::unplaced(v.clone())))
                .collect(),
        )));
    }
    if let Some(user) = &run.user {
        steps.push(step(StepKind::User(Located::unplaced(user.clone()))));
    }
    let producer = |command: CommandForm| match command {
        CommandForm::Shell(text) => format!("({text})"),
        CommandForm::Exec(words) => words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let command = match &run.capture {
        Some(Capture::Untar { dir, compression }) => {
            let flags = match compression.as_deref() {
                Some("--zstd") => "--zstd -x".to_owned(),
                Some(letter) => format!("-x{letter}"),
                None => "-x".to_owned(),
            };
            CommandForm::Shell(format!(
                "mkdir -p {dir} && {} | tar {flags} -C {dir}",
                producer(command),
                dir = shell_quote(dir)
            ))
        }
        Some(Capture::File { file }) => {
            let dir = file.rsplit_once('/').map_or("/", |(d, _)| d);
            CommandForm::Shell(format!(
                "mkdir -p {} && {} > {}",
                shell_quote(if dir.is_empty() { "/" } else { dir }),
                producer(command),
                shell_quote(file)
            ))
        }
        None => command,
    };
    steps.push(step(StepKind::Run(Run {
        command: Located::unplaced(command),
        mounts: Vec::new(),
        network: None,
        security: None,
        devices: Vec::new(),
    })));
    steps
}

/// A word as the shell reads it back: bare when safe, else quoted
/// (double quotes when nothing in it expands there and it holds a `'`).
fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        word.to_owned()
    } else if word.contains('\'') && !word.contains(['"', '$', '`', '\\', '!']) {
        format!("\"{word}\"")
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn unknown_command(run: &ContainerRun, main: &str, stage: &Stage) -> Diagnostic {
    let base = match &stage.from.value {
        Base::Image(image) => format!("`{image}`"),
        Base::Stage(name) => format!("the image stage `{name}` starts from"),
    };
    Diagnostic::warning(
        codes::UNKNOWN_COMMAND,
        format!(
            "the container runs the default command of {base}, which the Dockerfile does not set; the files are copied out of stage `{main}` as its steps leave them"
        ),
    )
    .with_label(Label::primary(run.span, "runs the image's command"))
    .with_help(format!(
        "add what the command does as the last step of stage `{main}` (`{{ run = \"…\" }}`), or give the command after the image in the script and migrate again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(from: Base, cmd: Option<CommandForm>, entrypoint: Option<CommandForm>) -> Stage {
        let mut stage = run_stage("s", "x");
        stage.from = Located::unplaced(from);
        stage.config.cmd = cmd.map(Located::unplaced);
        stage.config.entrypoint = entrypoint.map(Located::unplaced);
        stage
    }

    fn run(entrypoint: Option<&str>, command: &[&str]) -> ContainerRun {
        ContainerRun {
            build: 0,
            entrypoint: entrypoint.map(str::to_owned),
            command: command.iter().map(|c| (*c).to_owned()).collect(),
            workdir: None,
            env: Vec::new(),
            user: None,
            capture: None,
            span: Default::default(),
        }
    }

    fn exec(words: &[&str]) -> CommandForm {
        CommandForm::Exec(words.iter().map(|w| (*w).to_owned()).collect())
    }

    #[test]
    fn the_command_docker_runs() {
        let project = Project::default();
        let with_cmd = stage(
            Base::Image("golang".into()),
            Some(CommandForm::Shell("make dist".into())),
            None,
        );
        assert_eq!(
            command_of(&run(None, &[]), &project, &with_cmd),
            Some(CommandForm::Shell("make dist".into()))
        );
        assert_eq!(
            command_of(&run(None, &["make", "test"]), &project, &with_cmd),
            Some(exec(&["make", "test"]))
        );
        // `--entrypoint` drops the image's CMD.
        assert_eq!(
            command_of(&run(Some("/build.sh"), &[]), &project, &with_cmd),
            Some(exec(&["/build.sh"]))
        );
        let entry = stage(
            Base::Image("scratch".into()),
            Some(exec(&["--release"])),
            Some(exec(&["/build"])),
        );
        assert_eq!(
            command_of(&run(None, &[]), &project, &entry),
            Some(exec(&["/build", "--release"]))
        );
        // No CMD in the Dockerfile: the base image's, which is not known.
        let bare = stage(Base::Image("golang".into()), None, None);
        assert_eq!(command_of(&run(None, &[]), &project, &bare), None);
        let scratch = stage(Base::Image("scratch".into()), None, None);
        assert_eq!(command_of(&run(None, &[]), &project, &scratch), None);
    }

    #[test]
    fn an_entrypoint_resets_the_inherited_cmd() {
        let mut project = Project::default();
        let mut base = stage(Base::Image("scratch".into()), Some(exec(&["old"])), None);
        base.name = Located::unplaced("base".into());
        project.stages.push(base);
        let child = stage(Base::Stage("base".into()), None, Some(exec(&["/entry"])));
        assert_eq!(
            command_of(&run(None, &[]), &project, &child),
            Some(exec(&["/entry"]))
        );
        let inherits = stage(Base::Stage("base".into()), None, None);
        assert_eq!(
            command_of(&run(None, &[]), &project, &inherits),
            Some(exec(&["old"]))
        );
    }

    #[test]
    fn a_piped_command_unpacks_into_the_image() {
        let mut piped = run(
            None,
            &["sh", "-c", "find . -name '*.so' | xargs tar --create"],
        );
        piped.capture = Some(Capture::Untar {
            dir: "/stages-output/lib".into(),
            compression: Some("z".into()),
        });
        let steps = steps_of(&piped, exec(&["sh", "-c", "find . | xargs tar -cz"]), "/");
        let StepKind::Run(run) = &steps[0].kind else {
            panic!("a run step");
        };
        assert_eq!(
            run.command.value,
            CommandForm::Shell(
                "mkdir -p /stages-output/lib && sh -c 'find . | xargs tar -cz' | tar -xz -C /stages-output/lib"
                    .into()
            )
        );
        assert_eq!(shell_quote("it's"), "\"it's\"");
        assert_eq!(shell_quote("it's $HOME"), r"'it'\''s $HOME'");
    }
}
