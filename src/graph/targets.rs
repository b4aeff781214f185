//! Turning the names a user types into what to build. A name may be a
//! target or a stage (a stage is built as an untagged image target, like
//! `docker build --target`); a target wins when a name is both.
//!
//! With no names: the `default-target` if set; else every `[targets]` entry,
//! in file order; else the last stage in file order.

use super::codes;
use crate::config::model::{Project, Target, TargetKind};
use crate::diagnostics::{Diagnostic, did_you_mean};

/// One artifact of an artifact target, with the stage and path it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedArtifact {
    pub name: String,
    pub stage: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedKind {
    /// Build `stage` into an image and give it `tags` (none for a bare stage).
    Image {
        stage: String,
        tags: Vec<String>,
        labels: Vec<(String, String)>,
        args: Vec<(String, String)>,
        platforms: Vec<String>,
    },
    /// Build the artifacts' stages and copy the artifacts into `output`
    /// (relative to the config file's directory).
    Artifacts {
        artifacts: Vec<ResolvedArtifact>,
        output: String,
        args: Vec<(String, String)>,
        platforms: Vec<String>,
    },
}

/// A target, ready for a back end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    pub name: String,
    pub kind: ResolvedKind,
}

impl ResolvedTarget {
    /// The stages this target builds directly (before closure).
    pub fn stages(&self) -> Vec<String> {
        match &self.kind {
            ResolvedKind::Image { stage, .. } => vec![stage.clone()],
            ResolvedKind::Artifacts { artifacts, .. } => {
                let mut stages: Vec<String> = Vec::new();
                for artifact in artifacts {
                    if !stages.contains(&artifact.stage) {
                        stages.push(artifact.stage.clone());
                    }
                }
                stages
            }
        }
    }

    /// The build-argument values this target sets.
    pub fn args(&self) -> &[(String, String)] {
        match &self.kind {
            ResolvedKind::Image { args, .. } | ResolvedKind::Artifacts { args, .. } => args,
        }
    }
}

/// Resolves the names given on the command line (see the module docs for
/// what no names means). A name that is neither a target nor a stage is an
/// error with the closest name suggested.
pub fn resolve_targets(
    project: &Project,
    names: &[String],
) -> Result<Vec<ResolvedTarget>, Diagnostic> {
    if !names.is_empty() {
        return names.iter().map(|n| resolve_name(project, n)).collect();
    }
    if let Some(default) = &project.default_target {
        return resolve_name(project, &default.value).map(|t| vec![t]);
    }
    if !project.targets.is_empty() {
        return Ok(project
            .targets
            .iter()
            .map(|t| from_target(project, t))
            .collect());
    }
    match project.stages.last() {
        Some(stage) => Ok(vec![bare_stage(&stage.name.value)]),
        None => Err(Diagnostic::error(
            codes::NOTHING_TO_BUILD,
            "the project has no stage, so there is nothing to build",
        )
        .with_help("add a stage: `[stages.app]` with `from = \"alpine:3.20\"`")),
    }
}

fn resolve_name(project: &Project, name: &str) -> Result<ResolvedTarget, Diagnostic> {
    if let Some(target) = project.target(name) {
        return Ok(from_target(project, target));
    }
    if project.stage(name).is_some() {
        return Ok(bare_stage(name));
    }
    let candidates = project
        .targets
        .iter()
        .map(|t| t.name.value.as_str())
        .chain(project.stages.iter().map(|s| s.name.value.as_str()));
    let known = project
        .targets
        .iter()
        .map(|t| format!("`{}`", t.name.value))
        .chain(project.stages.iter().map(|s| format!("`{}`", s.name.value)))
        .collect::<Vec<_>>()
        .join(", ");
    let help = match did_you_mean(name, candidates) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("name a target or a stage: {known}"),
    };
    Err(Diagnostic::error(
        codes::UNKNOWN_TARGET,
        format!("`{name}` is neither a target nor a stage"),
    )
    .with_help(help))
}

fn bare_stage(stage: &str) -> ResolvedTarget {
    ResolvedTarget {
        name: stage.to_owned(),
        kind: ResolvedKind::Image {
            stage: stage.to_owned(),
            tags: Vec::new(),
            labels: Vec::new(),
            args: Vec::new(),
            platforms: Vec::new(),
        },
    }
}

fn from_target(project: &Project, target: &Target) -> ResolvedTarget {
    let args: Vec<(String, String)> = target
        .args
        .iter()
        .map(|(k, v)| (k.value.clone(), v.value.clone()))
        .collect();
    let kind = match &target.kind {
        TargetKind::Image {
            stage,
            tags,
            labels,
            platforms,
        } => ResolvedKind::Image {
            stage: stage.value.clone(),
            tags: tags.iter().map(|t| t.value.clone()).collect(),
            labels: labels.clone(),
            args,
            platforms: platforms.iter().map(|p| p.value.clone()).collect(),
        },
        TargetKind::Artifacts {
            artifacts,
            output,
            platforms,
        } => ResolvedKind::Artifacts {
            artifacts: artifacts
                .iter()
                .filter_map(|a| project.artifact(&a.value))
                .map(|a| ResolvedArtifact {
                    name: a.name.value.clone(),
                    stage: a.stage.value.clone(),
                    path: a.path.value.clone(),
                })
                .collect(),
            output: output.value.clone(),
            args,
            platforms: platforms.iter().map(|p| p.value.clone()).collect(),
        },
    };
    ResolvedTarget {
        name: target.name.value.clone(),
        kind,
    }
}
