//! `COPY --from=<stage> /one/absolute/path <to>` becomes a copy of a named
//! artifact (declared once per stage and path), so the stage's output has
//! a name targets can export. Copies with several sources, patterns,
//! variables, relative paths, `--exclude` or `--parents` stay plain copies.

use crate::config::model::{Artifact, ArtifactCopy, CopyFrom, Project, StepKind};
use crate::located::Located;

pub fn name_artifacts(project: &mut Project) {
    let mut artifacts: Vec<Artifact> = Vec::new();
    for stage in &mut project.stages {
        for step in &mut stage.steps {
            let StepKind::Copy(copy) = &step.kind else {
                continue;
            };
            let Some(CopyFrom::Stage(from)) = &copy.from else {
                continue;
            };
            let [path] = copy.sources.as_slice() else {
                continue;
            };
            if !is_plain_absolute(path) || !copy.exclude.is_empty() || copy.parents {
                continue;
            }
            let existing = artifacts
                .iter()
                .find(|a| a.stage.value == from.value && a.path.value == path.value);
            let name = match existing {
                Some(artifact) => artifact.name.value.clone(),
                None => {
                    let name = unique_name(&artifacts, &from.value, &path.value);
                    artifacts.push(Artifact {
                        name: Located::new(name.clone(), path.span),
                        stage: from.clone(),
                        path: path.clone(),
                        description: None,
                    });
                    name
                }
            };
            step.kind = StepKind::Artifact(ArtifactCopy {
                artifact: Located::new(name, path.span),
                to: copy.to.clone(),
                options: copy.options.clone(),
            });
        }
    }
    project.artifacts.extend(artifacts);
}

fn is_plain_absolute(path: &str) -> bool {
    path.starts_with('/') && path.len() > 1 && !path.contains(['*', '?', '[', '$', '\\'])
}

/// The path's last component, as a name (lower-case letters, digits, `-`,
/// `_`, `.`, starting with a letter), suffixed when taken.
fn unique_name(taken: &[Artifact], stage: &str, path: &str) -> String {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let mut base: String = last
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    base = base
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base = if base.is_empty() {
            format!("{stage}-output")
        } else {
            format!("{stage}-{base}")
        };
    }
    let mut name = base.clone();
    let mut n = 2;
    while taken.iter().any(|a| a.name.value == name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}
