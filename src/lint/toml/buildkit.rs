//! BuildKit's checks where stages.toml gives them a meaning, on the values
//! the Dockerfile instruction would carry. (Which rules cannot apply to
//! stages.toml, and why, is in docs/lint.md.)

use std::collections::{HashMap, HashSet};

use crate::check::variables::{undeclared_in_from, undefined_use_diagnostic};
use crate::check::{BaseEnv, expanded_names, reference_problem, undefined_uses};
use crate::config::CommandForm;
use crate::config::model::{Base, Project, Stage, StepKind};
use crate::diagnostics::Diagnostic;
use crate::lint::dockerfile::from::parse_platform;
use crate::lint::dockerfile::{expose_problems, is_secret_name};
use crate::lint::finding::finding;
use crate::lint::rules;

pub fn check(project: &Project, base_env: &BaseEnv, out: &mut Vec<Diagnostic>) {
    for found in undefined_uses(project, base_env) {
        let mut d = undefined_use_diagnostic(rules::UNDEFINED_VAR.code, &found);
        d.message = format!("Usage of undefined variable '${}'", found.name);
        out.push(d);
    }
    for (name, span, stage) in undeclared_in_from(project) {
        out.push(
            finding(
                &rules::UNDEFINED_ARG_IN_FROM,
                span,
                format!("FROM argument '{name}' is not declared"),
                format!("uses `${name}`"),
            )
            .with_help(format!(
                "declare it in `[args]` (`{name} = {{}}`) for `from` of stage `{stage}`"
            )),
        );
    }
    let shells = inherited(project, |s| {
        s.shell.is_some()
            || s.steps
                .iter()
                .any(|st| matches!(st.kind, StepKind::Shell(_)))
    });
    let workdirs = inherited(project, |s| first_workdir(s).is_some());
    for (i, stage) in project.stages.iter().enumerate() {
        stage_rules(project, stage, shells[i], workdirs[i], out);
    }
}

/// For each stage, whether it or a stage it is built on has `has`.
fn inherited(project: &Project, has: impl Fn(&Stage) -> bool) -> Vec<bool> {
    let index: HashMap<&str, usize> = project
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.value.as_str(), i))
        .collect();
    (0..project.stages.len())
        .map(|start| {
            let mut seen = HashSet::new();
            let mut at = Some(start);
            while let Some(i) = at {
                if !seen.insert(i) {
                    return false;
                }
                let stage = &project.stages[i];
                if i != start && has(stage) {
                    return true;
                }
                at = match &stage.from.value {
                    Base::Stage(base) => index.get(base.as_str()).copied(),
                    Base::Image(_) => None,
                };
            }
            false
        })
        .collect()
}

fn first_workdir(stage: &Stage) -> Option<&crate::config::Located<String>> {
    stage.workdir.as_ref().or_else(|| {
        stage.steps.iter().find_map(|s| match &s.kind {
            StepKind::Workdir(w) => Some(w),
            _ => None,
        })
    })
}

fn stage_rules(
    project: &Project,
    stage: &Stage,
    base_shell: bool,
    base_workdir: bool,
    out: &mut Vec<Diagnostic>,
) {
    let name = &stage.name.value;
    if let Some(means) = match name.as_str() {
        "context" => Some("`context` means the build context in `COPY --from`"),
        "scratch" => Some("`scratch` means the empty image in a Dockerfile's `FROM`"),
        _ => None,
    } {
        out.push(
            finding(
                &rules::RESERVED_STAGE_NAME,
                stage.name.span,
                format!("Stage name should not use the same name as reserved stage \"{name}\""),
                "a reserved name",
            )
            .with_help(format!("give the stage another name: {means}")),
        );
    }
    let own_shell = stage.shell.is_some();
    for (key, value) in [
        ("cmd", &stage.config.cmd),
        ("entrypoint", &stage.config.entrypoint),
    ] {
        if let Some(command) = value
            && matches!(command.value, CommandForm::Shell(_))
            && !own_shell
            && !base_shell
        {
            let instruction = key.to_uppercase();
            out.push(
                finding(
                    &rules::JSON_ARGS_RECOMMENDED,
                    command.span,
                    format!("JSON arguments recommended for {instruction} to prevent unintended behavior related to OS signals"),
                    "a string: the program runs under `/bin/sh -c`",
                )
                .with_help(format!("write `{key}` as a list: `{key} = [\"program\", \"arg\"]`")),
            );
        }
    }
    if !base_workdir
        && let Some(workdir) = first_workdir(stage)
        && !workdir.value.starts_with('/')
        && !workdir.value.starts_with('$')
    {
        out.push(
            finding(
                &rules::WORKDIR_RELATIVE_PATH,
                workdir.span,
                format!(
                    "Relative workdir {:?} can have unexpected results if the base image changes",
                    workdir.value
                ),
                "relative to the base image's workdir",
            )
            .with_help("start the path with `/`"),
        );
    }
    let mut secret_names: Vec<(&str, &str, crate::located::Span)> = Vec::new();
    secret_names.extend(
        stage
            .args
            .iter()
            .map(|a| ("ARG", a.name.value.as_str(), a.name.span)),
    );
    secret_names.extend(
        stage
            .env
            .iter()
            .map(|(k, _)| ("ENV", k.value.as_str(), k.span)),
    );
    for step in &stage.steps {
        match &step.kind {
            StepKind::Arg(args) => {
                secret_names.extend(
                    args.iter()
                        .map(|a| ("ARG", a.name.value.as_str(), a.name.span)),
                );
            }
            StepKind::Env(env) => {
                secret_names.extend(env.iter().map(|(k, _)| ("ENV", k.value.as_str(), k.span)))
            }
            _ => {}
        }
    }
    for (instruction, key, span) in secret_names {
        if is_secret_name(key) {
            out.push(
                finding(
                    &rules::SECRETS_USED_IN_ARG_OR_ENV,
                    span,
                    format!("Do not use ARG or ENV instructions for sensitive data ({instruction} {key:?})"),
                    "the value stays in the image's history",
                )
                .with_help("pass secrets with a secret mount: `mounts = [{ type = \"secret\", id = \"…\" }]`"),
            );
        }
    }
    if let Some(platform) = &stage.platform {
        platform_rules(name, platform, out);
    }
    invalid_default_in_from(project, stage, out);
    for port in stage.image_configs().flat_map(|config| &config.expose) {
        let (proto_case, _) = expose_problems(&port.value);
        if proto_case {
            out.push(
                finding(
                    &rules::EXPOSE_PROTO_CASING,
                    port.span,
                    format!(
                        "Defined protocol '{}' in EXPOSE instruction should be lowercase",
                        port.value
                    ),
                    "protocol in upper case",
                )
                .with_help("write the protocol in lower case (`tcp`, `udp`)"),
            );
        }
    }
}

fn platform_rules(
    stage: &str,
    platform: &crate::config::Located<String>,
    out: &mut Vec<Diagnostic>,
) {
    let text = platform.value.trim();
    if text == "$TARGETPLATFORM" || text == "${TARGETPLATFORM}" {
        out.push(
            finding(
                &rules::REDUNDANT_TARGET_PLATFORM,
                platform.span,
                format!("Setting platform to predefined {text} in FROM is redundant as this is the default behavior"),
                "the default platform",
            )
            .with_help("remove `platform`"),
        );
        return;
    }
    if !expanded_names(text, '\\', false).is_empty() {
        return;
    }
    if let Some((os, arch)) = parse_platform(text)
        && !stage.contains(&os)
        && !stage.contains(&arch)
    {
        out.push(
            finding(
                &rules::FROM_PLATFORM_FLAG_CONST_DISALLOWED,
                platform.span,
                format!("FROM --platform flag should not use constant value {text:?}"),
                "a constant platform",
            )
            .with_help(
                "use `$BUILDPLATFORM` or `$TARGETPLATFORM`, or name the stage after its platform",
            ),
        );
    }
}

/// A `from` whose args have no default everywhere: BuildKit expands it
/// with empty values, which may not name an image. (With every default
/// known, `check` already refuses an invalid result.)
fn invalid_default_in_from(project: &Project, stage: &Stage, out: &mut Vec<Diagnostic>) {
    let Base::Image(image) = &stage.from.value else {
        return;
    };
    let names = expanded_names(image, '\\', false);
    let some_without_default = names.iter().any(|n| {
        project
            .args
            .iter()
            .find(|a| a.name.value == *n)
            .is_none_or(|a| a.default.is_none())
    });
    if names.is_empty() || !some_without_default {
        return;
    }
    let value = project.expand_global(image, &[]);
    if reference_problem(&value, true).is_some() {
        out.push(
            finding(
                &rules::INVALID_DEFAULT_ARG_IN_FROM,
                stage.from.span,
                format!(
                    "Default value for ARG {image} results in empty or invalid base image name"
                ),
                format!("without build args this is `{value}`"),
            )
            .with_help("give the global args it uses defaults that make a valid image name"),
        );
    }
}
