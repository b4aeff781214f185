//! Artifact targets' `output`: the project directory (the one holding
//! stages.toml) or a directory inside it, never anywhere else on the host. Exporting elsewhere takes the user's word on
//! the command line (`stages build --output NAME=DIR`). Symlinks on the
//! way are resolved at build time by the engine.

use super::codes;
use crate::config::model::{Project, TargetKind};
use crate::diagnostics::{Diagnostic, Label};

/// Why an `output` is outside the project directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputOutside {
    Absolute,
    ClimbsOut,
}

/// Whether `output`, read relative to the project directory, names it or
/// a directory inside it (without looking at the file system).
pub fn output_outside_project(output: &str) -> Option<OutputOutside> {
    if output.starts_with('/')
        || output.starts_with('\\')
        || std::path::Path::new(output).is_absolute()
    {
        return Some(OutputOutside::Absolute);
    }
    let mut depth: usize = 0;
    for part in output.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return Some(OutputOutside::ClimbsOut),
            },
            _ => depth += 1,
        }
    }
    None
}

pub(super) fn check_outputs(project: &Project) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for target in &project.targets {
        let TargetKind::Artifacts { output, .. } = &target.kind else {
            continue;
        };
        let Some(why) = output_outside_project(&output.value) else {
            continue;
        };
        let label = match why {
            OutputOutside::Absolute => "an absolute path",
            OutputOutside::ClimbsOut => "climbs out of the project directory",
        };
        out.push(
            Diagnostic::error(
                codes::OUTPUT_OUTSIDE_PROJECT,
                format!(
                    "target `{}`: output `{}` is outside the project directory",
                    target.name.value, output.value
                ),
            )
            .with_label(Label::primary(output.span, label))
            .with_help(format!(
                "write a directory inside the project, such as `dist/`; to export anywhere else, \
                 pass `--output {}=DIR` to `stages build`",
                target.name.value
            )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{OutputOutside, output_outside_project};

    #[test]
    fn outputs_inside_the_project() {
        for ok in [
            "dist/",
            "dist",
            "./out",
            "a/b/../c",
            "build/out/",
            ".",
            "",
            "dist/..",
        ] {
            assert_eq!(output_outside_project(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("/", OutputOutside::Absolute),
            ("/root/.ssh", OutputOutside::Absolute),
            ("..", OutputOutside::ClimbsOut),
            ("../sibling", OutputOutside::ClimbsOut),
            ("dist/../../x", OutputOutside::ClimbsOut),
        ] {
            assert_eq!(output_outside_project(bad), Some(why), "{bad}");
        }
    }
}
