//! The rules on stages.toml: BuildKit's where they have a meaning there,
//! and the graph rules of our own.

mod buildkit;
mod graph;

use crate::config::model::Project;
use crate::diagnostics::Diagnostic;
use crate::lint::LintContext;

pub fn lint(project: &Project, cx: &LintContext) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    buildkit::check(project, &cx.base_env, &mut out);
    graph::check(project, cx, &mut out);
    crate::lint::base_platform::check_project(project, cx, &mut out);
    out.sort_by_key(|d| d.primary_span().map(|s| s.start));
    out
}
