//! A failed step of a stage that runs as another user says so. The stage's
//! `user` applies right after FROM wherever it is written in its table, so
//! a `mkdir` that fails with "Permission denied" is otherwise a puzzle.
//! Works on the diagnostic any back end reports: the step is found by the
//! span of its primary label.

use crate::config::model::{Base, Project, Stage, StepKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::codes;
use crate::located::Located;

/// `diagnostic` with the user its failed step ran as, when that user was
/// set in stages.toml (the stage's `user`, an earlier `user` step, or the
/// `user` of the stage it starts from).
pub fn explain_user(project: &Project, diagnostic: Diagnostic) -> Diagnostic {
    if diagnostic.code != codes::STEP_FAILED {
        return diagnostic;
    }
    let Some(span) = diagnostic.primary_span() else {
        return diagnostic;
    };
    let found = project.stages.iter().find_map(|stage| {
        let index = stage.steps.iter().position(|step| step.span == span)?;
        Some((stage, index))
    });
    let Some((stage, index)) = found else {
        return diagnostic;
    };
    let Some((user, origin)) = user_of_step(project, stage, index) else {
        return diagnostic;
    };
    let (label, help) = match origin {
        Origin::StageKey => (
            format!(
                "`user = \"{}\"` is set here: it applies right after FROM, before every step",
                user.value
            ),
            format!(
                "the step ran as user `{}`; if it needs another user, set `{{ user = \"root\" }}` as a step before it and `{{ user = \"{}\" }}` after it",
                user.value, user.value
            ),
        ),
        Origin::Step => (
            format!("steps from here on run as `{}`", user.value),
            format!(
                "the step ran as user `{}`; move the `user` step after it if it needs another user",
                user.value
            ),
        ),
        Origin::Base(base) => (
            format!("`user` of stage `{base}`, which this stage starts from"),
            format!(
                "the step ran as user `{}`, inherited from stage `{base}`; add `{{ user = \"root\" }}` as a step before it if it needs another user",
                user.value
            ),
        ),
    };
    let mut diagnostic = diagnostic.with_label(Label::secondary(user.span, label));
    // On the first line, before any output the message carries.
    let note = format!(" (it ran as user `{}`)", user.value);
    let end = diagnostic
        .message
        .find('\n')
        .unwrap_or(diagnostic.message.len());
    diagnostic.message.insert_str(end, &note);
    let help = match diagnostic.help.take() {
        Some(old) => format!("{help}; {old}"),
        None => help,
    };
    diagnostic.with_help(help)
}

enum Origin {
    StageKey,
    Step,
    Base(String),
}

fn user_of_step<'a>(
    project: &'a Project,
    stage: &'a Stage,
    index: usize,
) -> Option<(&'a Located<String>, Origin)> {
    let earlier_step = stage.steps[..index]
        .iter()
        .rev()
        .find_map(|step| match &step.kind {
            StepKind::User(user) => Some(user),
            _ => None,
        });
    if let Some(user) = earlier_step {
        return Some((user, Origin::Step));
    }
    if let Some(user) = &stage.user {
        return Some((user, Origin::StageKey));
    }
    // A stage inherits its base stage's user; follow the chain (the
    // checker has refused cycles, the bound is for safety all the same).
    let mut current = stage;
    for _ in 0..project.stages.len() {
        let Base::Stage(name) = &current.from.value else {
            return None;
        };
        let base = project.stage(name)?;
        let last_user = base.steps.iter().rev().find_map(|step| match &step.kind {
            StepKind::User(user) => Some(user),
            _ => None,
        });
        if let Some(user) = last_user.or(base.user.as_ref()) {
            return Some((user, Origin::Base(base.name.value.clone())));
        }
        current = base;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;

    fn project(text: &str) -> Project {
        crate::check::check(&SourceFile::new("stages.toml", text))
            .project
            .expect("valid project")
    }

    fn failed_step(project: &Project, stage: &str, step: usize) -> Diagnostic {
        let span = project.stage(stage).expect("stage").steps[step].span;
        Diagnostic::error(codes::STEP_FAILED, "step failed")
            .with_label(Label::primary(span, "this step failed"))
            .with_help("fix the step")
    }

    #[test]
    fn a_stage_user_written_after_steps_is_named() {
        let text = "[stages.a]\nfrom = \"busybox\"\nsteps = [{ run = \"mkdir /opt/x\" }]\nuser = \"nobody\"\n";
        let project = project(text);
        let explained = explain_user(&project, failed_step(&project, "a", 0));
        assert!(
            explained.message.contains("ran as user `nobody`"),
            "{explained:?}"
        );
        let secondary = &explained.labels[1];
        assert_eq!(
            &text[secondary.span.start..secondary.span.end],
            "\"nobody\""
        );
        assert!(
            explained
                .help
                .as_deref()
                .is_some_and(|h| h.contains("right after FROM") || h.contains("user = \"root\""))
        );
    }

    #[test]
    fn a_user_step_before_the_failed_step_wins_and_a_base_stage_user_is_inherited() {
        let text = "[stages.a]\nfrom = \"busybox\"\nuser = \"nobody\"\n[stages.b]\nfrom = { stage = \"a\" }\nsteps = [{ run = \"true\" }, { user = \"daemon\" }, { run = \"false\" }]\n";
        let project = project(text);
        let first = explain_user(&project, failed_step(&project, "b", 0));
        assert!(first.message.contains("user `nobody`"), "{first:?}");
        assert!(first.labels[1].text.contains("stage `a`"));
        let last = explain_user(&project, failed_step(&project, "b", 2));
        assert!(last.message.contains("user `daemon`"), "{last:?}");
    }

    #[test]
    fn a_stage_without_a_user_is_left_alone() {
        let project = project("[stages.a]\nfrom = \"busybox\"\nsteps = [{ run = \"false\" }]\n");
        let diagnostic = failed_step(&project, "a", 0);
        assert_eq!(explain_user(&project, diagnostic.clone()), diagnostic);
    }
}
