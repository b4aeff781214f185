//! One finding of one rule: a diagnostic under the rule's code, with a
//! label on the span and the rule's description (and BuildKit's page for
//! it) as the help line unless a rule has better advice.

use super::rules::Rule;
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Span;

pub fn finding(
    rule: &Rule,
    span: Span,
    message: impl Into<String>,
    label: impl Into<String>,
) -> Diagnostic {
    let help = match rule.url {
        Some(url) => format!("{} (see {url})", rule.description),
        None => rule.description.to_owned(),
    };
    Diagnostic {
        severity: rule.severity,
        ..Diagnostic::warning(rule.code, message)
    }
    .with_label(Label::primary(span, label))
    .with_help(help)
}
