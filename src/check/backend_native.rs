//! What the native back end cannot honour, read off the file alone: the
//! build refuses each of these before anything runs, so `check --backend
//! native` reports them too. (What depends on the build's options, such as
//! a required secret that `--secret` does not give, stays with the build.)

use super::backend::{Backend, unsupported};
use crate::config::CommandForm;
use crate::config::model::{Base, MountKind, Project, Stage, StepKind};
use crate::diagnostics::Diagnostic;

const HELP: &str = "use `--backend dockerfile`, or change the step";

/// Instructions an ONBUILD trigger may hold for the native back end to run
/// it as a step of the stage built on the image.
const STEP_KEYWORDS: &[&str] = &[
    "RUN", "COPY", "ADD", "ENV", "WORKDIR", "USER", "ARG", "SHELL",
];

fn refuse(feature: &str, span: crate::located::Span) -> Diagnostic {
    unsupported(Backend::Native, feature, span, HELP)
}

/// Whether a stage platform is the build platform itself
/// (`FROM --platform=$BUILDPLATFORM`, the cross-compiling idiom): the
/// native back end builds every stage on and for the Engine's platform,
/// which is what that names, so honouring it changes nothing.
pub fn names_the_build_platform(platform: &str) -> bool {
    matches!(platform.trim(), "$BUILDPLATFORM" | "${BUILDPLATFORM}")
}

/// Whether a SHELL program understands `export NAME=value` lines.
pub fn is_posix_shell(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    matches!(
        name,
        "sh" | "bash" | "ash" | "dash" | "ksh" | "mksh" | "zsh"
    )
}

/// Whether a COPY source holds a wildcard (unquoted `*`, `?`, `[`).
pub fn has_wildcard(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// The native back end's refusals for one stage.
pub(super) fn native_stage(project: &Project, stage: &Stage, out: &mut Vec<Diagnostic>) {
    if let Some(platform) = &stage.platform
        && !names_the_build_platform(&platform.value)
    {
        out.push(refuse("a stage platform", platform.span));
    }
    // The base stage's ONBUILD triggers run here, as steps.
    if let Base::Stage(base) = project.base_with(stage, &[])
        && let Some(base) = project.stage(&base)
    {
        for trigger in &base.config.onbuild {
            let keyword = trigger.value.split_whitespace().next().unwrap_or_default();
            if !STEP_KEYWORDS.contains(&keyword.to_ascii_uppercase().as_str()) {
                out.push(refuse(
                    &format!(
                        "the ONBUILD trigger `{}` of stage `{}`",
                        trigger.value, base.name.value
                    ),
                    trigger.span,
                ));
            }
        }
    }
    let mut shell = stage.shell.as_ref().map(|s| s.value.clone());
    for step in &stage.steps {
        match &step.kind {
            StepKind::Shell(words) => shell = Some(words.value.clone()),
            StepKind::Run(run) => {
                let exported = matches!(run.command.value, CommandForm::Shell(_))
                    && shell
                        .as_ref()
                        .and_then(|words| words.first())
                        .is_none_or(|program| is_posix_shell(program));
                if !exported
                    && let Some(mount) = run
                        .mounts
                        .iter()
                        .find(|m| m.value.kind.is(MountKind::Secret) && m.value.env.is_some())
                {
                    // The Engine's commit would keep the variable in the image.
                    out.push(refuse(
                        "a secret as an environment variable outside a POSIX shell-form run",
                        mount.span,
                    ));
                }
                if let Some(security) = &run.security {
                    out.push(refuse("`security` on a run step", security.span));
                }
                for mount in &run.mounts {
                    if mount.value.kind.is(MountKind::Bind)
                        && let Some(from) = &mount.value.from
                        && project.stage(&from.value).is_none()
                    {
                        out.push(refuse("bind mounts from an external image", from.span));
                    }
                }
            }
            StepKind::Copy(copy) if copy.parents => {
                out.push(refuse("`parents` on copies", step.span));
            }
            StepKind::Add(add) => {
                if add.parents {
                    out.push(refuse("`parents` on add", step.span));
                }
                if let Some(checksum) = &add.checksum {
                    out.push(refuse("`checksum` on add", checksum.span));
                }
                if let Some(url) = add.sources.iter().find(|s| s.value.contains("://")) {
                    out.push(refuse("add from a URL", url.span));
                }
            }
            _ => {}
        }
    }
}
