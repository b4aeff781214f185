//! A failed classic build as a diagnostic on stages.toml: the builder's
//! `Step N/M` is mapped through the exported Dockerfile's instruction map
//! to a stage and step, whose span gets the label.

use crate::config::model::Project;
use crate::convert::export::ExportedStep;
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::build_log::exit_code;
use crate::engine::codes;

/// How many lines of the failing step's output the diagnostic shows.
pub const TAIL_LINES: usize = 12;

/// The step that was running when the build failed.
#[derive(Debug, Clone, Default)]
pub struct FailedStep {
    /// 1-based builder step, if one had started.
    pub index: Option<usize>,
    /// The instruction as the builder printed it.
    pub text: String,
    /// Its last lines of output.
    pub tail: Vec<String>,
}

/// The diagnostic for a build that stopped with `message`.
pub fn step_failure(
    project: &Project,
    instructions: &[ExportedStep],
    failed: &FailedStep,
    message: &str,
) -> Diagnostic {
    let origin = failed
        .index
        .and_then(|index| index.checked_sub(1))
        .and_then(|i| instructions.get(i));
    let tail = if failed.tail.is_empty() {
        String::new()
    } else {
        let lines: Vec<String> = failed.tail.iter().map(|l| format!("  │ {l}")).collect();
        format!("\nlast lines of its output:\n{}", lines.join("\n"))
    };
    let code_text = exit_code(message).map_or_else(
        || message.trim().to_owned(),
        |code| format!("it exited with code {code}"),
    );
    let keyword = failed.text.split_whitespace().next().unwrap_or("the step");
    let Some(origin) = origin else {
        return Diagnostic::error(codes::BUILD_FAILED, format!("the build failed: {}{tail}", message.trim()))
            .with_help("read the Engine's message above; `stages export-dockerfile` shows the Dockerfile that was built");
    };
    let Some(stage) = project.stage(&origin.stage) else {
        return Diagnostic::error(
            codes::BUILD_FAILED,
            format!(
                "the build failed at `{}`: {}{tail}",
                failed.text,
                message.trim()
            ),
        );
    };
    let (what, span, label) = match origin.step {
        Some(step) => (
            format!(
                "step {} ({keyword}) of stage `{}`",
                step + 1,
                stage.name.value
            ),
            stage.steps.get(step).map_or(stage.name.span, |s| s.span),
            format!("this step failed: {code_text}"),
        ),
        None if keyword == "FROM" => (
            format!("the base of stage `{}`", stage.name.value),
            stage.from.span,
            "this base could not be used".to_owned(),
        ),
        None => (
            format!("`{keyword}` of stage `{}`", stage.name.value),
            stage.name.span,
            format!("failed: {code_text}"),
        ),
    };
    let help = if keyword == "FROM" {
        "the Engine has no such image and cannot pull it: build, load or pull it first".to_owned()
    } else if exit_code(message).is_some() {
        "fix the command (its output is above), then build again".to_owned()
    } else {
        "fix the step, then build again".to_owned()
    };
    Diagnostic::error(
        codes::STEP_FAILED,
        format!("{what} failed: {code_text}{tail}"),
    )
    .with_label(Label::primary(span, label))
    .with_help(help)
}

/// How a back end's build of `request.stage` ended, once its stream is
/// read: the failed step's diagnostic, else the image the builder named.
/// `builder` names who was asked, for the case it named no image.
pub fn stage_outcome(
    request: &super::StageBuild<'_>,
    instructions: &[ExportedStep],
    failure: Option<(FailedStep, String)>,
    image: Option<String>,
    builder: &str,
) -> Result<String, super::BuildFailure> {
    if let Some((failed, message)) = failure {
        return Err(super::BuildFailure::Reported(vec![step_failure(
            request.project,
            instructions,
            &failed,
            &message,
        )]));
    }
    image.ok_or_else(|| {
        super::BuildFailure::Reported(vec![Diagnostic::error(
            codes::BUILD_FAILED,
            format!(
                "{builder} finished building stage `{}` without naming an image",
                request.stage
            ),
        )])
    })
}
