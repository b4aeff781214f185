//! Stage names must be names Docker accepts after `AS`: BuildKit's
//! `^[a-z][a-z0-9-_.]*$`. `scratch` is one (BuildKit builds it, with its
//! ReservedStageName warning, which `stages lint` gives too): the stage is
//! `{ stage = "scratch" }`, while `from = "scratch"` stays the empty image.

use super::codes;
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, Label};

/// Whether Docker accepts `name` as a stage name.
pub fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

/// The closest valid name, for the help line.
fn suggest(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "stage-");
    }
    out
}

pub(super) fn check_stage_names(project: &Project) -> Vec<Diagnostic> {
    project
        .stages
        .iter()
        .filter(|s| !is_valid_stage_name(&s.name.value))
        .map(|s| {
            let name = &s.name.value;
            Diagnostic::error(
                codes::INVALID_STAGE_NAME,
                format!("`{name}` is not a valid stage name"),
            )
            .with_label(Label::primary(
                s.name.span,
                "use lower-case letters, digits, `-`, `_`, `.`, starting with a letter",
            ))
            .with_help(format!("rename the stage, e.g. to `{}`", suggest(name)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_stage_names() {
        for ok in ["a", "build-env", "a.b_c-1", "scratch"] {
            assert!(is_valid_stage_name(ok), "{ok}");
        }
        for bad in ["", "Build", "1st", "-a", "a b", "é"] {
            assert!(!is_valid_stage_name(bad), "{bad}");
        }
        assert_eq!(suggest("My Stage"), "my-stage");
        assert_eq!(suggest("1st"), "stage-1st");
    }
}
