//! What a build reads from outside the context: the external images of
//! the stages its targets need (the list the pull before a build uses),
//! and the URLs and git repositories their `add` steps name. The lock is
//! made from these, and `--locked` compares them with it.

use std::collections::BTreeMap;

use crate::config::model::{Project, StepKind};
use crate::engine::registry::pull::{NeededImage, needed_images};
use crate::graph::{ProjectGraph, ResolvedTarget, resolve_targets};

/// A URL or git source an `add` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSource {
    /// As written, global args expanded.
    pub text: String,
    /// The `checksum` the step itself gives, if any.
    pub checksum: Option<String>,
    pub stages: Vec<String>,
}

/// Everything external a build reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    pub images: Vec<NeededImage>,
    pub urls: Vec<RemoteSource>,
    pub git: Vec<RemoteSource>,
}

/// Is `source` a git repository, as BuildKit's ADD tells one: `git@…`,
/// `git://…`, or a URL whose path (before `#ref`) ends in `.git`.
pub fn is_git(source: &str) -> bool {
    let before_fragment = source.split('#').next().unwrap_or(source);
    source.starts_with("git@") || source.starts_with("git://") || before_fragment.ends_with(".git")
}

/// Is `source` a URL an `add` downloads (and not a git repository)?
pub fn is_url(source: &str) -> bool {
    (source.starts_with("http://") || source.starts_with("https://")) && !is_git(source)
}

/// What building `targets` with `build_args` reads.
pub fn reads_of(
    project: &Project,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
) -> Reads {
    let mut reads = Reads {
        images: needed_images(project, targets, build_args),
        ..Reads::default()
    };
    let overrides: Vec<(String, String)> = build_args
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let settled = project.with_bases_for(&overrides);
    let graph = ProjectGraph::new(&settled);
    let roots: Vec<String> = targets.iter().flat_map(|t| t.stages()).collect();
    for name in graph.needed_stages(&roots) {
        let Some(stage) = settled.stage(&name) else {
            continue;
        };
        for step in &stage.steps {
            let StepKind::Add(add) = &step.kind else {
                continue;
            };
            let checksum = add.checksum.as_ref().map(|c| c.value.clone());
            for source in &add.sources {
                let text = settled.expand_global(&source.value, &overrides);
                let list = if is_git(&text) {
                    &mut reads.git
                } else if is_url(&text) {
                    &mut reads.urls
                } else {
                    continue;
                };
                match list.iter_mut().find(|r| r.text == text) {
                    Some(known) if !known.stages.contains(&name) => known.stages.push(name.clone()),
                    Some(_) => {}
                    None => list.push(RemoteSource {
                        text,
                        checksum: checksum.clone(),
                        stages: vec![name.clone()],
                    }),
                }
            }
        }
    }
    reads
}

/// What the whole project reads: every target's needs with its own args,
/// and every stage's, so that a lock covers whatever is built from it.
pub fn reads_of_project(project: &Project) -> Reads {
    let mut names: Vec<String> = project
        .targets
        .iter()
        .map(|t| t.name.value.clone())
        .collect();
    names.extend(
        project
            .stages
            .iter()
            .map(|s| s.name.value.clone())
            .filter(|s| project.target(s).is_none()),
    );
    let targets = resolve_targets(project, &names).unwrap_or_default();
    reads_of(project, &targets, &BTreeMap::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;

    #[test]
    fn images_urls_and_git_sources_of_every_stage() {
        let text = r#"
[args]
BASE = "busybox:1"

[stages.a]
from = "${BASE}"
steps = [
  { add = "https://example.com/f.tgz", to = "/f" },
  { add = "https://example.com/repo.git#v1", to = "/src" },
  { add = "local.txt", to = "/" },
]

[stages.b]
from = "alpine:3.20"
steps = [{ copy = "/x", to = "/x", from-image = "reg.example:5000/tools:2" }]

[targets.app]
stage = "a"
"#;
        let outcome = crate::check::check(&SourceFile::new("stages.toml", text));
        let project = outcome.project.expect("valid");
        let reads = reads_of_project(&project);
        let images: Vec<&str> = reads.images.iter().map(|i| i.reference.as_str()).collect();
        assert_eq!(
            images,
            ["busybox:1", "alpine:3.20", "reg.example:5000/tools:2"]
        );
        assert_eq!(reads.urls.len(), 1);
        assert_eq!(reads.urls[0].text, "https://example.com/f.tgz");
        assert_eq!(reads.git.len(), 1);
        assert_eq!(reads.git[0].stages, ["a"]);
        assert!(is_git("git@github.com:o/r.git"));
        assert!(!is_url("https://example.com/repo.git#main"));
    }
}
