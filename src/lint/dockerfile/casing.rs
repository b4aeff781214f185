//! The rules on how keywords are written: StageNameCasing, FromAsCasing
//! and ConsistentInstructionCasing.

use crate::diagnostics::Diagnostic;
use crate::dockerfile::Program;
use crate::dockerfile::instructions::{Command, Instruction};
use crate::lint::finding::finding;
use crate::lint::rules;

fn is_self_consistent(s: &str) -> bool {
    s == s.to_lowercase() || s == s.to_uppercase()
}

pub fn check(program: &Program<'_>, out: &mut Vec<Diagnostic>) {
    for stage in &program.stages {
        from_casing(&stage.from, out);
    }
    instruction_casing(program, out);
}

fn from_casing(from: &Instruction<'_>, out: &mut Vec<Diagnostic>) {
    let Command::From(f) = &from.command else {
        return;
    };
    let Some(alias) = &f.alias else { return };
    if alias.name != alias.name.to_lowercase() {
        out.push(finding(
            &rules::STAGE_NAME_CASING,
            from.span,
            format!("Stage name '{}' should be lowercase", alias.name),
            "stage name with upper case",
        ));
    }
    let keyword = from.keyword_as_written();
    let as_word = &alias.as_keyword;
    let lower = keyword == keyword.to_lowercase();
    let upper = keyword == keyword.to_uppercase();
    let matches = if lower {
        *as_word == as_word.to_lowercase()
    } else if upper {
        *as_word == as_word.to_uppercase()
    } else {
        // A mixed-case FROM is ConsistentInstructionCasing's to report.
        true
    };
    if !matches {
        out.push(finding(
            &rules::FROM_AS_CASING,
            from.span,
            format!("'{as_word}' and '{keyword}' keywords' casing do not match"),
            "write `AS` in the case of `FROM`",
        ));
    }
}

/// Keywords of stages (not the ARGs before the first FROM) are counted;
/// each one not in the majority's case, or in mixed case, is reported.
fn instruction_casing(program: &Program<'_>, out: &mut Vec<Diagnostic>) {
    let all: Vec<&Instruction<'_>> = program
        .stages
        .iter()
        .flat_map(|s| std::iter::once(&s.from).chain(&s.instructions))
        .collect();
    let (mut lower, mut upper) = (0, 0);
    for instruction in &all {
        let keyword = instruction.keyword_as_written();
        if is_self_consistent(keyword) {
            if keyword == keyword.to_lowercase() {
                lower += 1;
            } else {
                upper += 1;
            }
        }
    }
    let majority_lower = lower > upper;
    for instruction in all {
        let keyword = instruction.keyword_as_written();
        let wanted = if majority_lower && keyword != keyword.to_lowercase() {
            "lowercase"
        } else if !majority_lower && keyword != keyword.to_uppercase() {
            "uppercase"
        } else {
            continue;
        };
        out.push(finding(
            &rules::CONSISTENT_INSTRUCTION_CASING,
            instruction.span,
            format!("Command '{keyword}' should match the case of the command majority ({wanted})"),
            format!("write this keyword in {wanted}"),
        ));
    }
}
