//! Fitting an imported Dockerfile into the joint project: its stages and
//! artifacts renamed (with every reference and comment following), its
//! context sources seen from the joint context, and its `FROM`/`COPY
//! --from` of an image the script built pointed at that image's stage.

use std::collections::HashMap;

use super::paths;
use super::plan::normalize_image;
use crate::config::model::{Base, CopyFrom, Project, StepKind};
use crate::config::write::Notes;

/// Renames stages everywhere they are named, comments included.
pub fn rename_stages(project: &mut Project, notes: &mut Notes, map: &HashMap<String, String>) {
    let renamed = |name: &str| map.get(name).cloned().unwrap_or_else(|| name.to_owned());
    for stage in &mut project.stages {
        stage.name.value = renamed(&stage.name.value);
        if let Base::Stage(base) = &mut stage.from.value {
            *base = renamed(base);
        }
        for step in &mut stage.steps {
            match &mut step.kind {
                StepKind::Copy(copy) => {
                    if let Some(CopyFrom::Stage(from)) = &mut copy.from {
                        from.value = renamed(&from.value);
                    }
                }
                StepKind::Run(run) => {
                    for mount in &mut run.mounts {
                        if let Some(from) = &mut mount.value.from {
                            from.value = renamed(&from.value);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for artifact in &mut project.artifacts {
        artifact.stage.value = renamed(&artifact.stage.value);
    }
    let old = std::mem::take(notes);
    *notes = Notes {
        header: old.header,
        args: old.args,
        stages: old
            .stages
            .into_iter()
            .map(|(k, v)| (renamed(&k), v))
            .collect(),
        keys: old
            .keys
            .into_iter()
            .map(|((s, k), v)| ((renamed(&s), k), v))
            .collect(),
        steps: old
            .steps
            .into_iter()
            .map(|((s, i), v)| ((renamed(&s), i), v))
            .collect(),
        trailing: old
            .trailing
            .into_iter()
            .map(|(k, v)| (renamed(&k), v))
            .collect(),
    };
}

/// Renames artifacts and the steps that copy them.
pub fn rename_artifacts(project: &mut Project, map: &HashMap<String, String>) {
    for artifact in &mut project.artifacts {
        if let Some(new) = map.get(&artifact.name.value) {
            artifact.name.value = new.clone();
        }
    }
    for step in project.stages.iter_mut().flat_map(|s| s.steps.iter_mut()) {
        if let StepKind::Artifact(copy) = &mut step.kind
            && let Some(new) = map.get(&copy.artifact.value)
        {
            copy.artifact.value = new.clone();
        }
    }
}

/// Sources read from the build context, seen from a context `prefix` above it.
pub fn rebase_sources(project: &mut Project, prefix: &str) {
    if prefix == "." {
        return;
    }
    let rebase = |source: &str| {
        if source.contains("://") || source.starts_with("git@") {
            source.to_owned()
        } else {
            paths::join(prefix, source.trim_start_matches('/'))
        }
    };
    for step in project.stages.iter_mut().flat_map(|s| s.steps.iter_mut()) {
        match &mut step.kind {
            StepKind::Copy(copy) if copy.from.is_none() => {
                for source in &mut copy.sources {
                    source.value = rebase(&source.value);
                }
            }
            StepKind::Add(add) => {
                for source in &mut add.sources {
                    source.value = rebase(&source.value);
                }
            }
            StepKind::Run(run) => {
                for mount in &mut run.mounts {
                    let mount = &mut mount.value;
                    if mount.from.is_none() && mount.kind.is(crate::config::model::MountKind::Bind)
                    {
                        mount.source = Some(rebase(mount.source.as_deref().unwrap_or(".")));
                    }
                }
            }
            _ => {}
        }
    }
}

/// `FROM app:build` and `COPY --from=app:build` of an image the script
/// built become references to that image's stage.
pub fn link_images(project: &mut Project, stages_by_image: &HashMap<String, String>) {
    let lookup = |image: &str| stages_by_image.get(&normalize_image(image)).cloned();
    for stage in &mut project.stages {
        if let Base::Image(image) = &stage.from.value
            && let Some(name) = lookup(image)
        {
            stage.from.value = Base::Stage(name);
        }
        for step in &mut stage.steps {
            if let StepKind::Copy(copy) = &mut step.kind
                && let Some(CopyFrom::Image(image)) = &copy.from
                && let Some(name) = lookup(&image.value)
            {
                copy.from = Some(CopyFrom::Stage(crate::located::Located::new(
                    name, image.span,
                )));
            }
        }
    }
}
