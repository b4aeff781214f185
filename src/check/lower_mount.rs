//! Lowering one RUN mount: a known type, only the options that type takes,
//! the options it needs, and valid option values.

use super::codes;
use crate::config::Located;
use crate::config::model::{Mount, MountKind, MountType};
use crate::config::raw::RawMount;
use crate::diagnostics::{Diagnostic, Label, did_you_mean};
use crate::located::Span;

pub const MOUNT_TYPES: &[&str] = &["bind", "cache", "secret", "tmpfs", "ssh"];
const SHARING: &[&str] = &["shared", "private", "locked"];

/// A variable type is only known when a build expands it, so `check`
/// takes any option some type takes; the build checks the rest.
const ANY_TYPE: &[&str] = &[
    "target", "source", "from", "id", "sharing", "readonly", "required", "mode", "uid", "gid",
    "size", "env",
];

fn written(raw: &RawMount) -> Vec<(&'static str, Span)> {
    [
        ("target", raw.target.as_ref().map(|v| v.span)),
        ("source", raw.source.as_ref().map(|v| v.span)),
        ("from", raw.from.as_ref().map(|v| v.span)),
        ("id", raw.id.as_ref().map(|v| v.span)),
        ("sharing", raw.sharing.as_ref().map(|v| v.span)),
        ("readonly", raw.readonly.as_ref().map(|v| v.span)),
        ("required", raw.required.as_ref().map(|v| v.span)),
        ("mode", raw.mode.as_ref().map(|v| v.span)),
        ("uid", raw.uid.as_ref().map(|v| v.span)),
        ("gid", raw.gid.as_ref().map(|v| v.span)),
        ("size", raw.size.as_ref().map(|v| v.span)),
        ("env", raw.env.as_ref().map(|v| v.span)),
    ]
    .into_iter()
    .filter_map(|(key, span)| span.map(|s| (key, s)))
    .collect()
}

fn option_error(span: Span, message: String, label: &str, help: String) -> Diagnostic {
    Diagnostic::error(codes::MOUNT_OPTION, message)
        .with_label(Label::primary(span, label.to_owned()))
        .with_help(help)
}

/// Lowers a mount, or reports every problem with it and returns `None`.
pub(super) fn lower_mount(
    mount: Located<RawMount>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Located<Mount>> {
    let span = mount.span;
    let raw = mount.value;
    // BuildKit's default mount type is bind.
    let kind = match &raw.kind {
        None => MountType::Known(MountKind::Bind),
        Some(kind) => match MountType::parse(&kind.value) {
            Some(parsed) => parsed,
            None => {
                let help = match did_you_mean(&kind.value, MOUNT_TYPES.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "use one of `bind`, `cache`, `secret`, `tmpfs`, `ssh`, or a variable that holds one (`$MOUNT_TYPE`)".to_owned(),
                };
                diagnostics.push(
                    Diagnostic::error(
                        codes::UNKNOWN_MOUNT_TYPE,
                        format!("`{}` is not a mount type", kind.value),
                    )
                    .with_label(Label::primary(kind.span, "unknown mount type"))
                    .with_help(help),
                );
                return None;
            }
        },
    };
    let name = kind.as_str();
    let takes = kind.known().map_or(ANY_TYPE, MountKind::options);
    let before = diagnostics.len();
    for (key, key_span) in written(&raw) {
        if !takes.contains(&key) {
            diagnostics.push(option_error(
                key_span,
                format!("a {name} mount takes no `{key}`"),
                "not an option of this mount type",
                format!(
                    "remove `{key}`; a {name} mount takes {}",
                    takes
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    // BuildKit mounts a bind mount with no target at the working directory,
    // so only cache and tmpfs mounts need one.
    let needs_target = kind.is(MountKind::Cache) || kind.is(MountKind::Tmpfs);
    if needs_target && raw.target.is_none() {
        diagnostics.push(option_error(
            span,
            format!("this {name} mount has no `target`"),
            "where should it be mounted?",
            "add `target = \"/path/in/container\"`".to_owned(),
        ));
    }
    if kind.is(MountKind::Secret) && raw.id.is_none() && raw.target.is_none() {
        diagnostics.push(option_error(
            span,
            "this secret mount has neither `id` nor `target`".to_owned(),
            "which secret?",
            "add `id = \"name\"` (the id given to `stages build --secret id=name,src=…`)"
                .to_owned(),
        ));
    }
    if let Some(sharing) = &raw.sharing
        && !SHARING.contains(&sharing.value.as_str())
    {
        diagnostics.push(option_error(
            sharing.span,
            format!("`{}` is not a cache sharing mode", sharing.value),
            "not `shared`, `private` or `locked`",
            "set `sharing` to `shared`, `private` or `locked`".to_owned(),
        ));
    }
    if let Some(mode) = &raw.mode
        && (mode.value.is_empty() || !mode.value.chars().all(|c| ('0'..='7').contains(&c)))
    {
        diagnostics.push(option_error(
            mode.span,
            format!("`{}` is not an octal file mode", mode.value),
            "not an octal mode",
            "write the mode in octal, e.g. `mode = \"0400\"`".to_owned(),
        ));
    }
    if diagnostics.len() > before {
        return None;
    }
    Some(Located::new(
        Mount {
            kind,
            target: raw.target.map(|v| v.value),
            source: raw.source.map(|v| v.value),
            from: raw.from,
            id: raw.id.map(|v| v.value),
            sharing: raw.sharing.map(|v| v.value),
            readonly: raw.readonly.map(|v| v.value),
            required: raw.required.map(|v| v.value),
            mode: raw.mode.map(|v| v.value),
            uid: raw.uid.map(|v| v.value),
            gid: raw.gid.map(|v| v.value),
            size: raw.size.map(|v| v.value),
            env: raw.env.map(|v| v.value),
        },
        span,
    ))
}
