//! BuildKit's build checks on a Dockerfile, at the lines BuildKit reports
//! them. Every stage is linted, reachable from the target or not, as
//! `docker build --check` does.

mod casing;
pub mod from;
mod ignored;
mod names;
pub(crate) mod unreadable;
mod walk;

pub use walk::{expose_problems, is_secret_name};

use crate::diagnostics::Diagnostic;
use crate::dockerfile::Program;
use crate::dockerfile::instructions::Instruction;
use crate::lint::LintContext;
use crate::lint::controls::{Controls, check_comment};

/// Every finding on the program, each filtered by the controls in force
/// at its instruction: `file` merged with a `check=` comment before it.
pub fn lint(
    program: &Program<'_>,
    text: &str,
    cx: &LintContext,
    file: &Controls,
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    names::empty_continuations(program, text, &mut found);
    casing::check(program, &mut found);
    names::check(program, &mut found);
    from::check(program, &mut found);
    walk::check(program, &cx.base_env, &mut found);
    ignored::check(program, cx.ignored.as_ref(), &mut found);
    crate::lint::base_platform::check_dockerfile(program, cx, &mut found);
    let instructions: Vec<&Instruction<'_>> = program
        .meta_args
        .iter()
        .chain(
            program
                .stages
                .iter()
                .flat_map(|s| std::iter::once(&s.from).chain(&s.instructions)),
        )
        .collect();
    let mut out = Vec::new();
    for finding in found {
        let at = finding.primary_span().map_or(0, |s| s.start);
        let controls = instructions
            .iter()
            .find(|i| i.span.start <= at && at < i.span.end.max(i.span.start + 1))
            .and_then(|i| i.comments.iter().find_map(|c| check_comment(c)))
            .and_then(|value| Controls::parse(value).ok())
            .map_or_else(
                || file.clone(),
                |local| {
                    file.merged(&Controls {
                        error: false,
                        ..local
                    })
                },
            );
        out.extend(controls.apply(vec![finding]));
    }
    out.sort_by_key(|d| d.primary_span().map(|s| s.start));
    out
}
