//! `docker run -v host:/dir image`: the container writes files into a
//! host directory when it runs. No build step did that, so it cannot be
//! migrated as is; the warning says what the container runs (the image's
//! CMD) and how to make it a build step and an artifact instead.

use super::codes;
use super::plan::RunOutput;
use super::units::Finding;
use crate::config::forms::CommandForm;
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, Label};

/// One warning per such `docker run`; `stage` is the stage of its image, if built here.
pub fn run_output_warning(run: &RunOutput, stage: Option<&str>, project: &Project) -> Finding {
    let mounted: Vec<String> = run
        .volumes
        .iter()
        .filter_map(|v| v.value.split(':').nth(1).map(str::to_owned))
        .collect();
    let dirs = if mounted.is_empty() {
        "a mounted directory".to_owned()
    } else {
        mounted
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut diagnostic = Diagnostic::warning(
        codes::RUN_TIME_OUTPUT,
        format!(
            "`docker run -v` fills {dirs} when a container of `{}` runs, not while an image builds; it cannot be migrated as is",
            run.image
        ),
    )
    .with_label(match run.volumes.first() {
        Some(volume) => Label::primary(volume.span, "the container writes into this host directory"),
        None => Label::primary(run.span, "files made at run time"),
    });
    for volume in run.volumes.iter().skip(1) {
        diagnostic = diagnostic.with_label(Label::secondary(volume.span, "and into this one"));
    }
    let dir = mounted
        .first()
        .cloned()
        .unwrap_or_else(|| "/out".to_owned());
    let name = super::naming::sanitize(super::paths::file_name(&dir));
    let name = if name.is_empty() {
        "output".to_owned()
    } else {
        name
    };
    let help = match stage.and_then(|s| project.stage(s)) {
        Some(stage) => {
            let command = if run.command.is_empty() {
                match stage.config.cmd.as_ref().map(|c| &c.value) {
                    Some(CommandForm::Shell(text)) => format!("`{{ run = \"{text}\" }}`"),
                    Some(CommandForm::Exec(words)) => {
                        format!("`{{ run = \"{}\" }}`", words.join(" "))
                    }
                    None => "a `run` step doing what the container did".to_owned(),
                }
            } else {
                format!("`{{ run = \"{}\" }}`", run.command.join(" "))
            };
            let volume = if stage.config.volumes.iter().any(|v| v.value == dir) {
                format!(
                    ", and remove `{dir}` from its `volumes` (files a step writes under a VOLUME are discarded)"
                )
            } else {
                String::new()
            };
            format!(
                "make it a build step: add {command} at the end of stage `{}`{volume}; declare `[artifacts.{name}]` with `stage = \"{}\"`, `path = \"{dir}\"`; then have the stages that used these files copy it (`{{ artifact = \"{name}\", to = \"{dir}\" }}`) or mount it, instead of reading them from the host or a server",
                stage.name.value, stage.name.value
            )
        }
        None => {
            let command = if run.command.is_empty() {
                "the image's command".to_owned()
            } else {
                format!("`{{ run = \"{}\" }}`", run.command.join(" "))
            };
            let workdir = run
                .workdir
                .as_ref()
                .map(|w| format!(", `workdir = \"{w}\"`"))
                .unwrap_or_default();
            format!(
                "build the files in a stage instead: `[stages.{name}]` with `from = \"{}\"`{workdir}, a `{{ copy = \".\", to = \".\" }}` step for the sources it mounted and {command}; declare what it writes as `[artifacts.{name}]` and copy it where it is used (`{{ artifact = \"{name}\", to = \"…\" }}`)",
                run.image
            )
        }
    };
    Finding {
        file: 0,
        diagnostic: diagnostic.with_help(help),
    }
}
