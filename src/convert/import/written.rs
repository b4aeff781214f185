//! The imported project as `stages import` writes it, read back as
//! `stages check` and `stages export-dockerfile` read it. `check_project`
//! sees the model; what only the text check sees (a step's keys as they
//! lower: a cache mount without `target`, a `network` value it does not
//! know) and what only export refuses would otherwise reach the user as a
//! file that does not check or export. Each is refused on the Dockerfile
//! line of the step it is in.

use crate::check::check;
use crate::config::load::load_manifest;
use crate::config::model::Project;
use crate::config::write::{Notes, WriteOptions, write_project};
use crate::convert::codes;
use crate::convert::export::{ExportOptions, export_dockerfile};
use crate::diagnostics::{Diagnostic, Label, SourceFile};
use crate::located::Span;

/// Every error the written file would meet in `check`, else export's.
pub(super) fn refused_when_written(project: &Project, notes: &Notes) -> Vec<Diagnostic> {
    let text = write_project(project, notes, WriteOptions::default());
    let file = SourceFile::new("stages.toml", text);
    let outcome = check(&file);
    let errors: Vec<&Diagnostic> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    if !errors.is_empty() {
        let located = StepSpans::read(&file, project);
        return errors
            .into_iter()
            .map(|error| refusal(error, located.dockerfile_span(error.primary_span())))
            .collect();
    }
    let stages: Vec<String> = project
        .stages
        .iter()
        .map(|s| s.name.value.clone())
        .collect();
    match export_dockerfile(project, &stages, &ExportOptions::default()) {
        // The model's spans are the Dockerfile's, so export's label stands.
        Err(refused) => vec![refused],
        Ok(_) => Vec::new(),
    }
}

fn refusal(error: &Diagnostic, span: Span) -> Diagnostic {
    let mut refused = Diagnostic::error(
        codes::UNSUPPORTED,
        format!("stages.toml cannot hold this as written: {}", error.message),
    )
    .with_label(Label::primary(span, "in this instruction"));
    if let Some(help) = &error.help {
        refused = refused.with_help(help.clone());
    }
    refused
}

/// For each step of the written file, its span there and the span of the
/// Dockerfile instruction it came from.
struct StepSpans {
    steps: Vec<(Span, Span)>,
    /// Each stage's `[stages.NAME]` key and its FROM line.
    stages: Vec<(Span, Span)>,
    fallback: Span,
}

impl StepSpans {
    fn read(file: &SourceFile, project: &Project) -> Self {
        let fallback = project
            .stages
            .first()
            .map(|s| s.from.span)
            .unwrap_or_default();
        let (mut steps, mut stages) = (Vec::new(), Vec::new());
        if let Ok(manifest) = load_manifest(file) {
            for (name, raw) in &manifest.stages {
                let Some(stage) = project.stages.iter().find(|s| s.name.value == name.value) else {
                    continue;
                };
                stages.push((name.span, stage.from.span));
                for (written, step) in raw.steps.iter().zip(&stage.steps) {
                    steps.push((written.span, step.span));
                }
            }
        }
        Self {
            steps,
            stages,
            fallback,
        }
    }

    /// The Dockerfile span of the innermost written step holding `at`, else
    /// the FROM of the stage written last before it, else the first FROM.
    fn dockerfile_span(&self, at: Option<Span>) -> Span {
        let Some(at) = at else {
            return self.fallback;
        };
        let step = self
            .steps
            .iter()
            .filter(|(written, _)| written.start <= at.start && at.end <= written.end)
            .min_by_key(|(written, _)| written.end - written.start);
        let stage = || {
            self.stages
                .iter()
                .filter(|(key, _)| key.start <= at.start)
                .max_by_key(|(key, _)| key.start)
        };
        step.or_else(stage)
            .map(|(_, dockerfile)| *dockerfile)
            .unwrap_or(self.fallback)
    }
}
