//! DuplicateStageName, ReservedStageName and NoEmptyContinuation.

use std::collections::HashSet;

use crate::diagnostics::Diagnostic;
use crate::dockerfile::Program;
use crate::lint::finding::finding;
use crate::lint::rules;
use crate::located::Span;

/// Names BuildKit keeps for itself.
pub const RESERVED_STAGE_NAMES: &[&str] = &["context", "scratch"];

pub fn check(program: &Program<'_>, out: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    for stage in &program.stages {
        let Some(name) = stage.name() else { continue };
        let span = stage.from.span;
        if RESERVED_STAGE_NAMES.contains(&name.as_str()) {
            out.push(
                finding(
                    &rules::RESERVED_STAGE_NAME,
                    span,
                    format!("Stage name should not use the same name as reserved stage {name:?}"),
                    "a reserved name",
                )
                .with_help("give the stage another name"),
            );
        }
        if !seen.insert(name.clone()) {
            out.push(
                finding(
                    &rules::DUPLICATE_STAGE_NAME,
                    span,
                    format!("Duplicate stage name {name:?}, stage names should be unique"),
                    "named again here",
                )
                .with_help("give each stage its own name"),
            );
        }
    }
}

/// An instruction continued over an empty line: BuildKit reports it on
/// the instruction's last line. Heredoc bodies may hold empty lines.
pub fn empty_continuations(program: &Program<'_>, text: &str, out: &mut Vec<Diagnostic>) {
    let all = program.meta_args.iter().chain(
        program
            .stages
            .iter()
            .flat_map(|s| std::iter::once(&s.from).chain(&s.instructions)),
    );
    empty_continuations_in(all.map(|i| (i.start_line, i.end_line)), text, out);
}

/// [`empty_continuations`] over the instructions' line ranges (first and
/// last line, 1-based), which the parser gives even for a file whose
/// instructions cannot all be read.
pub fn empty_continuations_in(
    lines: impl Iterator<Item = (usize, usize)>,
    text: &str,
    out: &mut Vec<Diagnostic>,
) {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line = |n: usize| line_at(text, &starts, n);
    for (start_line, end_line) in lines {
        if end_line <= start_line {
            continue;
        }
        let first = line(start_line).map_or("", |(_, l)| l);
        if first.contains("<<") {
            continue;
        }
        let empty =
            (start_line + 1..end_line).any(|n| line(n).is_some_and(|(_, l)| l.trim().is_empty()));
        if empty && let Some((start, last)) = line(end_line) {
            out.push(
                finding(
                    &rules::NO_EMPTY_CONTINUATION,
                    Span::new(start, start + last.len()),
                    "Empty continuation line",
                    "the instruction goes on after an empty line",
                )
                .with_help("remove the empty line, or end the instruction before it"),
            );
        }
    }
}

/// Line `n` (1-based) of `text` without its newline, and where it starts.
fn line_at<'t>(text: &'t str, starts: &[usize], n: usize) -> Option<(usize, &'t str)> {
    let start = *starts.get(n.checked_sub(1)?)?;
    let end = starts.get(n).map_or(text.len(), |e| e - 1);
    Some((start, text.get(start..end)?))
}
