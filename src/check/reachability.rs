//! Stages no target reaches are never built: a warning. The roots are every
//! target's stage and its artifacts' stages, plus `default-target` when it
//! names a stage; with no `[targets]`, the default target (else the last
//! stage in file order) is the only root.

use std::collections::HashSet;

use super::codes;
use crate::config::deps::{Needed, stage_dependencies};
use crate::config::model::{Project, Target, TargetKind};
use crate::diagnostics::{Diagnostic, Label};

/// The stage names a build of every target (or of the default one) starts from.
pub fn root_stages(project: &Project) -> Vec<String> {
    let mut roots = Vec::new();
    for target in &project.targets {
        roots.extend(target_roots(project, target));
    }
    if let Some(default) = &project.default_target
        && project.target(&default.value).is_none()
        && project.stage(&default.value).is_some()
    {
        roots.push(default.value.clone());
    }
    if roots.is_empty()
        && let Some(last) = project.stages.last()
    {
        roots.push(last.name.value.clone());
    }
    roots
}

/// The stages `target` builds directly.
fn target_roots(project: &Project, target: &Target) -> Vec<String> {
    match &target.kind {
        TargetKind::Image { stage, .. } => vec![stage.value.clone()],
        TargetKind::Artifacts { artifacts, .. } => artifacts
            .iter()
            .filter_map(|a| project.artifact(&a.value))
            .map(|a| a.stage.value.clone())
            .collect(),
    }
}

/// Every stage reachable from `roots`.
pub fn reachable(project: &Project, roots: &[String]) -> HashSet<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut stack: Vec<String> = roots.to_vec();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(stage) = project.stage(&name) {
            for dependency in stage_dependencies(project, stage) {
                if let Needed::Stage(next) = dependency.on {
                    stack.push(next);
                }
            }
        }
    }
    seen
}

pub(super) fn check_reachability(project: &Project) -> Vec<Diagnostic> {
    let mut reached = reachable(project, &root_stages(project));
    // A target's own args may make a `from` with variables name another stage.
    for target in project.targets.iter().filter(|t| !t.args.is_empty()) {
        let args: Vec<(String, String)> = target
            .args
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect();
        let settled = project.with_bases_for(&args);
        reached.extend(reachable(&settled, &target_roots(project, target)));
    }
    project
        .stages
        .iter()
        .filter(|s| !reached.contains(&s.name.value))
        .map(|s| {
            Diagnostic::warning(
                codes::UNREACHED_STAGE,
                format!(
                    "stage `{}` is never built: no target needs it",
                    s.name.value
                ),
            )
            .with_label(Label::primary(s.name.span, "no target reaches this stage"))
            .with_help(if project.targets.is_empty() {
                "add a `[targets]` entry that builds it, use it from the last stage, or remove it"
            } else {
                "add a target that builds it, make a built stage use it, or remove it"
            })
        })
        .collect()
}
