//! Every name that points somewhere must land: stage bases, copies from
//! stages, artifact steps, artifacts' stages, targets' stages and
//! artifacts, `default-target`. Also the two look-alikes: a string `from`
//! equal to a stage name, and a mount `from` one typo away from a stage.

use super::codes;
use crate::config::Located;
use crate::config::model::{Base, CopyFrom, Project, StepKind, TargetKind};
use crate::diagnostics::{Diagnostic, Label, did_you_mean};

pub(super) fn check_references(
    project: &Project,
    declared_artifacts: &[String],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let stage = |name: &Located<String>, what: &str, out: &mut Vec<Diagnostic>| {
        if project.stage(&name.value).is_none() {
            out.push(unknown_stage(project, name, what));
        }
    };
    for s in &project.stages {
        match &s.from.value {
            Base::Stage(name) => stage(
                &Located::new(name.clone(), s.from.span),
                "the base of this stage",
                &mut out,
            ),
            Base::Image(image) => {
                // `scratch` always means the empty image, even beside a stage of that name.
                if let Some(named) = project.stage(image).filter(|_| image != "scratch") {
                    out.push(
                        Diagnostic::warning(
                            codes::IMAGE_NAMED_LIKE_STAGE,
                            format!("`from = \"{image}\"` is read as an image, not as the stage `{image}`"),
                        )
                        .with_label(Label::primary(s.from.span, "an image reference"))
                        .with_label(Label::secondary(named.name.span, "a stage of the same name"))
                        .with_help(format!("write `from = {{ stage = \"{image}\" }}` to start from the stage")),
                    );
                }
            }
        }
        for step in &s.steps {
            match &step.kind {
                StepKind::Copy(copy) => match &copy.from {
                    Some(CopyFrom::Stage(name))
                        if project.stage(&name.value).is_none()
                            && looks_like_image(&name.value) =>
                    {
                        out.push(unknown_stage(project, name, "the stage this copy reads from").with_help(format!(
                                "`from` names a stage; to copy from an image, write `from-image = \"{}\"`",
                                name.value
                            )));
                    }
                    Some(CopyFrom::Stage(name)) => {
                        stage(name, "the stage this copy reads from", &mut out);
                    }
                    Some(CopyFrom::Image(image)) => {
                        if let Some(named) = project.stage(&image.value) {
                            out.push(
                                    Diagnostic::warning(
                                        codes::IMAGE_NAMED_LIKE_STAGE,
                                        format!("`from-image = \"{}\"` is read as an image, not as the stage `{}`", image.value, image.value),
                                    )
                                    .with_label(Label::primary(image.span, "an image reference"))
                                    .with_label(Label::secondary(named.name.span, "a stage of the same name"))
                                    .with_help(format!("write `from = \"{}\"` to copy from the stage", image.value)),
                                );
                        }
                    }
                    None => {}
                },
                StepKind::Artifact(copy) if !declared_artifacts.contains(&copy.artifact.value) => {
                    out.push(unknown_artifact(
                        project,
                        &copy.artifact,
                        declared_artifacts,
                    ));
                }
                StepKind::Run(run) => {
                    for mount in &run.mounts {
                        let Some(from) = &mount.value.from else {
                            continue;
                        };
                        if project.stage(&from.value).is_some() {
                            continue;
                        }
                        let names = project.stages.iter().map(|s| s.name.value.as_str());
                        if let Some(close) = did_you_mean(&from.value, names) {
                            out.push(
                                Diagnostic::warning(
                                    codes::MOUNT_FROM_NOT_A_STAGE,
                                    format!("mount `from = \"{}\"` is no stage, so it is read as an image", from.value),
                                )
                                .with_label(Label::primary(from.span, "read as an image reference"))
                                .with_help(format!("did you mean the stage `{close}`?")),
                            );
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for artifact in &project.artifacts {
        stage(
            &artifact.stage,
            "the stage that produces this artifact",
            &mut out,
        );
    }
    for target in &project.targets {
        match &target.kind {
            TargetKind::Image { stage: name, .. } => {
                stage(name, "the stage this target builds", &mut out);
            }
            TargetKind::Artifacts { artifacts, .. } => {
                for artifact in artifacts {
                    if !declared_artifacts.contains(&artifact.value) {
                        out.push(unknown_artifact(project, artifact, declared_artifacts));
                    }
                }
            }
        }
    }
    if let Some(default) = &project.default_target
        && project.target(&default.value).is_none()
        && project.stage(&default.value).is_none()
    {
        let names = project
            .targets
            .iter()
            .map(|t| t.name.value.as_str())
            .chain(project.stages.iter().map(|s| s.name.value.as_str()));
        let help = match did_you_mean(&default.value, names) {
            Some(close) => format!("did you mean `{close}`?"),
            None => "name a target of `[targets]` or a stage of `[stages]`".to_owned(),
        };
        out.push(
            Diagnostic::error(
                codes::UNKNOWN_DEFAULT_TARGET,
                format!(
                    "default target `{}` is neither a target nor a stage",
                    default.value
                ),
            )
            .with_label(Label::primary(
                default.span,
                "no target or stage of this name",
            ))
            .with_help(help),
        );
    }
    out
}

/// Whether a name reads as an image reference rather than a stage name.
fn looks_like_image(name: &str) -> bool {
    name.contains([':', '/', '@'])
}

fn unknown_stage(project: &Project, name: &Located<String>, what: &str) -> Diagnostic {
    let names = project.stages.iter().map(|s| s.name.value.as_str());
    let diagnostic = Diagnostic::error(
        codes::UNKNOWN_STAGE,
        format!("there is no stage named `{}`", name.value),
    )
    .with_label(Label::primary(name.span, format!("{what}: unknown stage")));
    match did_you_mean(&name.value, names).and_then(|close| project.stage(close)) {
        Some(close) => diagnostic
            .with_label(Label::secondary(
                close.name.span,
                format!("stage `{}` is defined here", close.name.value),
            ))
            .with_help(format!("did you mean `{}`?", close.name.value)),
        None => diagnostic.with_help(format!(
            "declare `[stages.{}]`, or name one of the stages of this file",
            name.value
        )),
    }
}

fn unknown_artifact(project: &Project, name: &Located<String>, declared: &[String]) -> Diagnostic {
    let diagnostic = Diagnostic::error(
        codes::UNKNOWN_ARTIFACT,
        format!("there is no artifact named `{}`", name.value),
    )
    .with_label(Label::primary(name.span, "unknown artifact"));
    match did_you_mean(&name.value, declared.iter().map(String::as_str)) {
        Some(close) => {
            let diagnostic = match project.artifact(close) {
                Some(artifact) => diagnostic.with_label(Label::secondary(
                    artifact.name.span,
                    format!("artifact `{close}` is defined here"),
                )),
                None => diagnostic,
            };
            diagnostic.with_help(format!("did you mean `{close}`?"))
        }
        None => diagnostic.with_help(format!(
            "declare `[artifacts.{}]` with `stage` and `path`, or name an existing artifact",
            name.value
        )),
    }
}
