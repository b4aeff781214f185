//! Values that become `--flag=value` words in a Dockerfile (`chown`,
//! `chmod`, `platform`, `checksum`, `exclude`, a mount's fields) must be
//! one word: not empty, no whitespace, no quote or escape character, or
//! export cannot write them and the Dockerfile lexer would split or
//! unquote them differently.

use super::codes;
use crate::config::Located;
use crate::config::model::{CopyOptions, Mount, Project, StepKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Span;

/// Why `value` cannot be a flag's value, if it cannot.
pub fn flag_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".into());
    }
    value
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "\"'`\\".contains(*c))
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                format!(
                    "it holds whitespace or a control character (U+{:04X})",
                    u32::from(c)
                )
            } else {
                format!("it holds `{c}`")
            }
        })
}

fn diagnostic(flag: &str, value: &str, span: Span) -> Option<Diagnostic> {
    let problem = flag_value_problem(value)?;
    Some(
        Diagnostic::error(
            codes::INVALID_FLAG_VALUE,
            format!("`{value}` cannot be the value of `--{flag}`: {problem}"),
        )
        .with_label(Label::primary(span, problem))
        .with_help(format!(
            "write `{flag}` as one word, without spaces or quotes"
        )),
    )
}

fn located(flag: &str, value: &Option<Located<String>>, out: &mut Vec<Diagnostic>) {
    if let Some(value) = value {
        out.extend(diagnostic(flag, &value.value, value.span));
    }
}

fn options(options: &CopyOptions, out: &mut Vec<Diagnostic>) {
    located("chown", &options.chown, out);
    located("chmod", &options.chmod, out);
}

fn excludes(patterns: &[Located<String>], out: &mut Vec<Diagnostic>) {
    for pattern in patterns {
        out.extend(diagnostic("exclude", &pattern.value, pattern.span));
    }
}

/// A mount's text fields may be empty or hold commas (they are quoted as
/// csv), but not whitespace or a single quote.
fn mount(mount: &Located<Mount>, out: &mut Vec<Diagnostic>) {
    let m = &mount.value;
    let fields = [
        ("target", &m.target),
        ("source", &m.source),
        ("id", &m.id),
        ("sharing", &m.sharing),
        ("mode", &m.mode),
        ("size", &m.size),
        ("env", &m.env),
    ];
    let from = m.from.as_ref().map(|f| f.value.clone());
    let kind = Some(m.kind.as_str().to_owned());
    for (key, value) in fields.into_iter().chain([("from", &from), ("type", &kind)]) {
        let Some(value) = value else { continue };
        if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
            out.push(
                Diagnostic::error(
                    codes::INVALID_FLAG_VALUE,
                    format!(
                        "the mount's `{key}` holds whitespace or a control character (U+{:04X})",
                        u32::from(c)
                    ),
                )
                .with_label(Label::primary(mount.span, format!("`{key} = {value:?}`")))
                .with_help("a `--mount` flag is one word: write the value without whitespace"),
            );
        } else if value.contains('\'') {
            // BuildKit reads a single quote in a flag as the start of a
            // quoted word, which then runs on to the next quote of the line.
            out.push(
                Diagnostic::error(
                    codes::INVALID_FLAG_VALUE,
                    format!("the mount's `{key}` holds a single quote"),
                )
                .with_label(Label::primary(mount.span, format!("`{key} = {value:?}`")))
                .with_help(
                    "in a `--mount` flag BuildKit reads `'` as the start of a quoted word: write the value without it",
                ),
            );
        }
    }
}

pub(super) fn check_flag_values(project: &Project) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for stage in &project.stages {
        located("platform", &stage.platform, &mut out);
        for step in &stage.steps {
            match &step.kind {
                StepKind::Copy(copy) => {
                    options(&copy.options, &mut out);
                    excludes(&copy.exclude, &mut out);
                }
                StepKind::Artifact(copy) => options(&copy.options, &mut out),
                StepKind::Add(add) => {
                    options(&add.options, &mut out);
                    excludes(&add.exclude, &mut out);
                    located("checksum", &add.checksum, &mut out);
                }
                StepKind::Run(run) => {
                    for m in &run.mounts {
                        mount(m, &mut out);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::flag_value_problem;

    #[test]
    fn one_word_values() {
        for ok in [
            "1000:1000",
            "0755",
            "linux/amd64",
            "sha256:abc",
            "*.md",
            "${UID}",
        ] {
            assert_eq!(flag_value_problem(ok), None, "{ok}");
        }
        for bad in ["", "a b", "le ", "'7'", "a\"b", "a\u{a0}b", "x\\"] {
            assert!(flag_value_problem(bad).is_some(), "{bad}");
        }
    }
}
