//! Lowering one step: exactly one kind key, the keys that kind needs, no
//! keys of other kinds, and valid `network` / `security` values.

use super::codes;
use super::lower::{lower_args, lower_env};
use super::lower_config_step::{config_kinds, empty_config, lower_config};
use super::lower_mount::lower_mount;
use crate::config::model::{Add, ArtifactCopy, Copy, CopyFrom, CopyOptions, Run, Step, StepKind};
use crate::config::raw::RawStep;
use crate::config::{CommandForm, Located, Sources, Span};
use crate::diagnostics::{Diagnostic, Label};

const RUN_KEYS: &[&str] = &["mounts", "network", "security", "devices"];
const COPY_KEYS: &[&str] = &[
    "to",
    "from",
    "from-image",
    "chown",
    "chmod",
    "link",
    "exclude",
    "parents",
    "heredocs",
];
const ARTIFACT_KEYS: &[&str] = &["to", "chown", "chmod", "link"];
const ADD_KEYS: &[&str] = &[
    "to",
    "chown",
    "chmod",
    "link",
    "exclude",
    "parents",
    "checksum",
    "keep-git-dir",
    "unpack",
];

pub const NETWORKS: &[&str] = &["default", "none", "host"];
pub const SECURITY_MODES: &[&str] = &["sandbox", "insecure"];

/// The kind keys written in the step, with their spans.
fn kinds(raw: &RawStep) -> Vec<(&'static str, Span)> {
    [
        ("run", raw.run.as_ref().map(|v| v.span)),
        ("copy", raw.copy.as_ref().map(|v| v.span)),
        ("artifact", raw.artifact.as_ref().map(|v| v.span)),
        ("add", raw.add.as_ref().map(|v| v.span)),
        ("env", raw.env.as_ref().map(|v| v.span)),
        ("workdir", raw.workdir.as_ref().map(|v| v.span)),
        ("user", raw.user.as_ref().map(|v| v.span)),
        ("arg", raw.arg.as_ref().map(|v| v.span)),
        ("shell", raw.shell.as_ref().map(|v| v.span)),
    ]
    .into_iter()
    .chain(config_kinds(raw))
    .filter_map(|(key, span)| span.map(|s| (key, s)))
    .collect()
}

/// The option keys written in the step, with their spans.
fn options(raw: &RawStep, step_span: Span) -> Vec<(&'static str, Span)> {
    let list_span = |first: Option<Span>| first.unwrap_or(step_span);
    [
        ("to", raw.to.as_ref().map(|v| v.span)),
        ("from", raw.from.as_ref().map(|v| v.span)),
        ("from-image", raw.from_image.as_ref().map(|v| v.span)),
        ("chown", raw.chown.as_ref().map(|v| v.span)),
        ("chmod", raw.chmod.as_ref().map(|v| v.span)),
        ("link", raw.link.as_ref().map(|v| v.span)),
        (
            "exclude",
            raw.exclude
                .as_ref()
                .map(|v| list_span(v.first().map(|e| e.span))),
        ),
        ("parents", raw.parents.as_ref().map(|v| v.span)),
        ("heredocs", raw.heredocs.as_ref().map(|v| v.span)),
        ("checksum", raw.checksum.as_ref().map(|v| v.span)),
        ("keep-git-dir", raw.keep_git_dir.as_ref().map(|v| v.span)),
        ("unpack", raw.unpack.as_ref().map(|v| v.span)),
        (
            "mounts",
            raw.mounts
                .as_ref()
                .map(|v| list_span(v.first().map(|e| e.span))),
        ),
        ("network", raw.network.as_ref().map(|v| v.span)),
        ("security", raw.security.as_ref().map(|v| v.span)),
        (
            "devices",
            raw.devices
                .as_ref()
                .map(|v| list_span(v.first().map(|e| e.span))),
        ),
    ]
    .into_iter()
    .filter_map(|(key, span)| span.map(|s| (key, s)))
    .collect()
}

fn allowed_options(kind: &str) -> &'static [&'static str] {
    match kind {
        "run" => RUN_KEYS,
        "copy" => COPY_KEYS,
        "artifact" => ARTIFACT_KEYS,
        "add" => ADD_KEYS,
        _ => &[],
    }
}

fn key_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lowers one step, or reports why it is not one and returns `None`.
pub(super) fn lower_step(
    step: Located<RawStep>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Step> {
    let span = step.span;
    let mut raw = step.value;
    let kinds = kinds(&raw);
    let kind = match kinds.as_slice() {
        [] => {
            diagnostics.push(
                Diagnostic::error(codes::STEP_WITHOUT_KIND, "this step has no kind key")
                    .with_label(Label::primary(span, "what should this step do?"))
                    .with_help(
                        "add one of `run`, `copy`, `artifact`, `add`, `env`, `workdir`, `user`, `arg`, `shell` (or image configuration kept in place: `label`, `expose`, `volume`, `stop-signal`, `cmd`, `entrypoint`)",
                    ),
            );
            return None;
        }
        [(kind, _)] => *kind,
        [(first, first_span), rest @ ..] => {
            let mut diagnostic = Diagnostic::error(
                codes::STEP_WITH_SEVERAL_KINDS,
                format!("this step has {} kind keys", kinds.len()),
            )
            .with_label(Label::secondary(*first_span, format!("a `{first}` step…")));
            for (other, other_span) in rest {
                diagnostic = diagnostic.with_label(Label::primary(
                    *other_span,
                    format!("…and a `{other}` step"),
                ));
            }
            diagnostics.push(diagnostic.with_help("split it into one step per kind key"));
            return None;
        }
    };
    let mut ok = true;
    let allowed = allowed_options(kind);
    for (key, key_span) in options(&raw, span) {
        if !allowed.contains(&key) {
            ok = false;
            let help = if allowed.is_empty() {
                format!("remove `{key}`: a `{kind}` step takes no other key")
            } else {
                format!(
                    "remove `{key}`: a `{kind}` step takes {}",
                    key_list(allowed)
                )
            };
            diagnostics.push(
                Diagnostic::error(
                    codes::STEP_FOREIGN_KEY,
                    format!("`{key}` does not belong on a `{kind}` step"),
                )
                .with_label(Label::primary(
                    key_span,
                    format!("`{key}` is not a `{kind}` option"),
                ))
                .with_help(help),
            );
        }
    }
    if allowed.contains(&"to") && raw.to.is_none() {
        ok = false;
        diagnostics.push(
            Diagnostic::error(
                codes::STEP_MISSING_KEY,
                format!("this `{kind}` step has no `to`"),
            )
            .with_label(Label::primary(span, "where should the files go?"))
            .with_help("add a destination: `to = \"/app/\"` (a trailing `/` means a directory)"),
        );
    }
    let empty = match kind {
        "run" => raw
            .run
            .as_ref()
            .filter(|r| match &r.value {
                CommandForm::Shell(script) => script.trim().is_empty(),
                CommandForm::Exec(words) => words.is_empty(),
            })
            .map(|r| {
                (
                    r.span,
                    "an empty command",
                    "write the command: `run = \"make\"` or `run = [\"make\", \"install\"]`",
                )
            }),
        "copy" | "add" => raw
            .copy
            .as_ref()
            .or(raw.add.as_ref())
            .filter(|s| s.value.0.is_empty())
            .map(|s| {
                (
                    s.span,
                    "no source",
                    "name at least one source, e.g. `[\"src/\"]`",
                )
            }),
        _ => empty_config(&raw),
    };
    if let Some((empty_span, what, help)) = empty {
        ok = false;
        diagnostics.push(
            Diagnostic::error(
                codes::STEP_MISSING_KEY,
                format!("this `{kind}` step has {what}"),
            )
            .with_label(Label::primary(empty_span, what))
            .with_help(help),
        );
    }
    if let (Some(from), Some(image)) = (&raw.from, &raw.from_image) {
        ok = false;
        diagnostics.push(
            Diagnostic::error(
                codes::CONFLICTING_KEYS,
                "a copy reads from a stage or from an image, not both",
            )
            .with_label(Label::primary(image.span, "an image…"))
            .with_label(Label::secondary(from.span, "…and a stage"))
            .with_help("keep `from` (a stage) or `from-image` (an image), not both"),
        );
    }
    ok &= check_choice(
        &raw.network,
        NETWORKS,
        codes::INVALID_NETWORK,
        "network",
        diagnostics,
    );
    ok &= check_choice(
        &raw.security,
        SECURITY_MODES,
        codes::INVALID_SECURITY,
        "security",
        diagnostics,
    );
    let config = lower_config(&mut raw);
    let mut mounts = Vec::new();
    for mount in raw.mounts.take().unwrap_or_default() {
        match lower_mount(mount, diagnostics) {
            Some(mount) => mounts.push(mount),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let options = CopyOptions {
        chown: raw.chown,
        chmod: raw.chmod,
        link: raw.link.is_some_and(|l| l.value),
    };
    let to = raw.to.unwrap_or_else(|| Located::new(String::new(), span));
    let kind = match kind {
        "run" => StepKind::Run(Run {
            command: raw.run?,
            mounts,
            network: raw.network,
            security: raw.security,
            devices: raw.devices.unwrap_or_default(),
        }),
        "copy" => StepKind::Copy(Copy {
            sources: placed_sources(raw.copy?),
            to,
            from: raw
                .from
                .map(CopyFrom::Stage)
                .or(raw.from_image.map(CopyFrom::Image)),
            options,
            exclude: raw.exclude.unwrap_or_default(),
            parents: raw.parents.is_some_and(|p| p.value),
            heredocs: raw
                .heredocs
                .map(|h| h.value.into_iter().collect())
                .unwrap_or_default(),
        }),
        "artifact" => StepKind::Artifact(ArtifactCopy {
            artifact: raw.artifact?,
            to,
            options,
        }),
        "add" => StepKind::Add(Add {
            sources: placed_sources(raw.add?),
            to,
            options,
            checksum: raw.checksum,
            keep_git_dir: raw.keep_git_dir.is_some_and(|k| k.value),
            exclude: raw.exclude.unwrap_or_default(),
            parents: raw.parents.is_some_and(|p| p.value),
            unpack: raw.unpack.map(|u| u.value),
        }),
        "env" => StepKind::Env(lower_env(raw.env?.value)),
        "workdir" => StepKind::Workdir(raw.workdir?),
        "user" => StepKind::User(raw.user?),
        "arg" => StepKind::Arg(lower_args(raw.arg?.value)),
        "shell" => StepKind::Shell(raw.shell?),
        _ => StepKind::Config(config?),
    };
    Some(Step { kind, span })
}

/// A single source written as a string has no span of its own; it takes the value's.
fn placed_sources(sources: Located<Sources>) -> Vec<Located<String>> {
    let span = sources.span;
    sources
        .value
        .0
        .into_iter()
        .map(|s| {
            if s.span.is_empty() {
                Located::new(s.value, span)
            } else {
                s
            }
        })
        .collect()
}

fn check_choice(
    value: &Option<Located<String>>,
    choices: &[&str],
    code: &'static str,
    key: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> bool {
    let Some(value) = value else { return true };
    if choices.contains(&value.value.as_str()) {
        return true;
    }
    diagnostics.push(
        Diagnostic::error(code, format!("`{}` is not a valid `{key}`", value.value))
            .with_label(Label::primary(
                value.span,
                format!("not one of {}", key_list(choices)),
            ))
            .with_help(format!("set `{key}` to one of {}", key_list(choices))),
    );
    false
}
