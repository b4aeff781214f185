//! A Dockerfile with several final stages (stages no other stage uses)
//! means several things to build: each becomes an image target, and the
//! last stage, which `docker build` builds without `--target`, the
//! default. With one final stage, the last, no target is needed.

use crate::config::deps::{Needed, stage_dependencies};
use crate::config::model::{Project, Target, TargetKind};
use crate::located::Located;

pub fn add_final_stage_targets(project: &mut Project) {
    let used: Vec<String> = project
        .stages
        .iter()
        .flat_map(|stage| stage_dependencies(project, stage))
        .filter_map(|dependency| match dependency.on {
            Needed::Stage(name) => Some(name),
            Needed::Image(_) => None,
        })
        .collect();
    let finals: Vec<Located<String>> = project
        .stages
        .iter()
        .filter(|stage| !used.contains(&stage.name.value))
        .map(|stage| stage.name.clone())
        .collect();
    let Some(last) = project.stages.last() else {
        return;
    };
    if finals.len() < 2 {
        return;
    }
    project.default_target = Some(last.name.clone());
    project.targets = finals
        .into_iter()
        .map(|stage| Target {
            name: stage.clone(),
            kind: TargetKind::Image {
                stage,
                tags: Vec::new(),
                labels: Vec::new(),
                platforms: Vec::new(),
            },
            args: Vec::new(),
        })
        .collect();
}
