//! What a stage needs, read off the checked model: its base, the stages and
//! images it copies from, mounts from, or takes artifacts from. The checker
//! (cycles, reachability) and the graph both read this one list, so they
//! can never disagree about an edge.

use super::model::{Base, CopyFrom, Project, Stage, StepKind};
use crate::located::Span;

/// Why one stage needs another stage or an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// `from`: the stage starts from it.
    Base,
    /// A copy step with `from` or `from-image`.
    Copy,
    /// A RUN mount with `from`.
    Mount,
    /// An `artifact` step: the artifact's stage.
    Artifact,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Base => "base",
            EdgeKind::Copy => "copy",
            EdgeKind::Mount => "mount",
            EdgeKind::Artifact => "artifact",
        }
    }
}

/// What a dependency points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Needed {
    Stage(String),
    /// An image reference (never `scratch`, which is no image).
    Image(String),
}

/// One edge out of a stage, with the place in the file that creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub on: Needed,
    pub kind: EdgeKind,
    pub span: Span,
}

/// Every dependency of `stage`, in the order it is written (base first).
/// A `from` with variables counts as the stage it names with the args'
/// defaults (`Project::base_with`); a build with other values reads the
/// project `Project::with_bases_for` gives.
/// Artifact steps naming an unknown artifact are left out: the checker
/// reports those on their own.
pub fn stage_dependencies(project: &Project, stage: &Stage) -> Vec<Dependency> {
    let mut out = Vec::new();
    match project.base_with(stage, &[]) {
        Base::Stage(name) => out.push(Dependency {
            on: Needed::Stage(name),
            kind: EdgeKind::Base,
            span: stage.from.span,
        }),
        Base::Image(image) if image != "scratch" => out.push(Dependency {
            on: Needed::Image(image),
            kind: EdgeKind::Base,
            span: stage.from.span,
        }),
        Base::Image(_) => {}
    }
    for step in &stage.steps {
        match &step.kind {
            StepKind::Copy(copy) => match &copy.from {
                Some(CopyFrom::Stage(name)) => out.push(Dependency {
                    on: Needed::Stage(name.value.clone()),
                    kind: EdgeKind::Copy,
                    span: name.span,
                }),
                Some(CopyFrom::Image(image)) => out.push(Dependency {
                    on: Needed::Image(image.value.clone()),
                    kind: EdgeKind::Copy,
                    span: image.span,
                }),
                None => {}
            },
            StepKind::Artifact(copy) => {
                if let Some(artifact) = project.artifact(&copy.artifact.value) {
                    out.push(Dependency {
                        on: Needed::Stage(artifact.stage.value.clone()),
                        kind: EdgeKind::Artifact,
                        span: copy.artifact.span,
                    });
                }
            }
            StepKind::Run(run) => {
                for mount in &run.mounts {
                    if let Some(from) = &mount.value.from {
                        let on = if project.stage(&from.value).is_some() {
                            Needed::Stage(from.value.clone())
                        } else {
                            Needed::Image(from.value.clone())
                        };
                        out.push(Dependency {
                            on,
                            kind: EdgeKind::Mount,
                            span: from.span,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}
