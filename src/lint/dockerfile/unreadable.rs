//! What BuildKit still reports on a Dockerfile whose instructions it cannot
//! all read (an unknown instruction, a bad flag): its parser's empty
//! continuation warnings over the whole file, and the checks it runs while
//! reading each instruction (StageNameCasing, FromAsCasing,
//! MaintainerDeprecated) on the instructions before the one it stops at.
//! The checks that need the stages read whole come after and never run.
//! (BuildKit also checks the casing of a FROM whose flags it then fails to
//! read; such a FROM cannot be read here, so it goes unchecked.)

use crate::diagnostics::Diagnostic;
use crate::dockerfile::parse;
use crate::dockerfile::stages::program_of;
use crate::lint::controls::Controls;
use crate::lint::{LintContext, rules};

/// The checks BuildKit runs as it reads each instruction.
const WHILE_READING: &[&rules::Rule] = &[
    &rules::STAGE_NAME_CASING,
    &rules::FROM_AS_CASING,
    &rules::MAINTAINER_DEPRECATED,
];

/// The findings BuildKit reports before `error` stops it reading `text`;
/// none when its parser itself refuses the file.
pub fn findings_before(
    text: &str,
    error: &Diagnostic,
    cx: &LintContext,
    controls: &Controls,
) -> Vec<Diagnostic> {
    let Ok(mut file) = parse(text) else {
        return Vec::new();
    };
    let file_controls = controls.merged(&crate::lint::file_controls(&file.directives, cx));
    let mut found = Vec::new();
    super::names::empty_continuations_in(
        file.nodes.iter().map(|n| (n.start_line, n.end_line)),
        text,
        &mut found,
    );
    let mut out = file_controls.apply(found);
    if let Some(at) = error.primary_span().map(|s| s.start) {
        // The instruction the error is in, and every one before it.
        let reached = file.nodes.iter().filter(|n| n.span.start <= at).count();
        file.nodes.truncate(reached.saturating_sub(1));
        if let Ok(program) = program_of(file, text) {
            out.extend(
                super::lint(&program, text, cx, &file_controls)
                    .into_iter()
                    .filter(|d| WHILE_READING.iter().any(|r| r.code == d.code)),
            );
        }
    }
    out.sort_by_key(|d| d.primary_span().map(|s| s.start));
    out
}

#[cfg(test)]
mod tests {
    use crate::lint::{Controls, LintContext, lint_dockerfile, rule_name};

    fn before_error(text: &str) -> Vec<(&'static str, usize)> {
        let unreadable = lint_dockerfile(text, &LintContext::default(), &Controls::default())
            .expect_err("BuildKit cannot read it");
        unreadable
            .findings
            .iter()
            .filter_map(|d| {
                let line = text[..d.primary_span()?.start].matches('\n').count() + 1;
                Some((rule_name(d)?, line))
            })
            .collect()
    }

    #[test]
    fn the_checks_of_reading_run_up_to_the_instruction_that_stops_it() {
        assert_eq!(
            before_error(
                "FROM scratch AS Early\nMAINTAINER me\nBADCMD\nMAINTAINER me\nFROM scratch AS Late\n"
            ),
            [("StageNameCasing", 1), ("MaintainerDeprecated", 2)]
        );
    }

    #[test]
    fn empty_continuations_count_in_the_whole_file_and_other_checks_not_at_all() {
        // JSONArgsRecommended and DuplicateStageName need the stages read
        // whole: BuildKit never reaches them.
        assert_eq!(
            before_error("FROM a AS b\nCMD x\nFROM a AS b\nBADCMD\nRUN a \\\n\nb\n"),
            [("NoEmptyContinuation", 7)]
        );
    }

    #[test]
    fn the_file_controls_apply() {
        assert_eq!(
            before_error("# check=skip=StageNameCasing\nFROM scratch AS Early\nBADCMD\n"),
            []
        );
    }
}
