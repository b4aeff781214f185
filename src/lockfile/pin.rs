//! A project as a build with the lock sees it: every external image the
//! lock covers is named by its digest, the tag kept for display
//! (`alpine:3.20@sha256:…`), and every git source the lock covers names
//! the commit its ref resolved to. The Engine then pulls and reads by
//! digest, whatever the tag points at today. URLs are checked against
//! their checksums before the build instead (`crate::engine::lock_sources`).

use std::collections::BTreeMap;

use super::model::Lock;
use super::reads::is_git;
use crate::config::model::{Base, CopyFrom, Project, StepKind};
use crate::graph::ResolvedTarget;

/// `reference` named by `digest`, the tag kept: `name:tag@digest`.
pub fn pinned_reference(reference: &str, digest: &str) -> String {
    format!("{reference}@{digest}")
}

/// `source` (`repo.git#ref[:subdir]`) with its ref replaced by `commit`.
pub fn pinned_git(source: &str, commit: &str) -> String {
    let (repository, fragment) = source.split_once('#').unwrap_or((source, ""));
    match fragment.split_once(':') {
        Some((_, subdir)) => format!("{repository}#{commit}:{subdir}"),
        None => format!("{repository}#{commit}"),
    }
}

/// The ref a git source names (`HEAD` when it names none).
pub fn git_ref(source: &str) -> &str {
    let fragment = source.split_once('#').map_or("", |(_, f)| f);
    let reference = fragment.split(':').next().unwrap_or("");
    if reference.is_empty() {
        "HEAD"
    } else {
        reference
    }
}

/// The repository part of a git source (before `#`).
pub fn git_repository(source: &str) -> &str {
    source.split('#').next().unwrap_or(source)
}

/// `project` with what `lock` covers pinned, for building `targets` with
/// `build_args`. A reference with variables is pinned only when every
/// target reads the same image through it; otherwise it stays as written.
pub fn pin_project(
    project: &Project,
    lock: &Lock,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
) -> Project {
    let pin = |text: &str| -> Option<String> {
        if text == "scratch" {
            return None;
        }
        let reference = one_expansion(project, text, targets, build_args)?;
        if reference.contains('@') {
            return None;
        }
        lock.image(&reference)
            .map(|locked| pinned_reference(&reference, &locked.digest))
    };
    let mut pinned = project.clone();
    let stage_names: Vec<String> = project
        .stages
        .iter()
        .map(|s| s.name.value.clone())
        .collect();
    for stage in &mut pinned.stages {
        if let Base::Image(text) = &stage.from.value
            && let Some(reference) = pin(text)
        {
            stage.from.value = Base::Image(reference);
        }
        for step in &mut stage.steps {
            match &mut step.kind {
                StepKind::Copy(copy) => {
                    if let Some(CopyFrom::Image(image)) = &mut copy.from
                        && let Some(reference) = pin(&image.value)
                    {
                        image.value = reference;
                    }
                }
                StepKind::Run(run) => {
                    for mount in &mut run.mounts {
                        if let Some(from) = &mut mount.value.from
                            && !stage_names.contains(&from.value)
                            && let Some(reference) = pin(&from.value)
                        {
                            from.value = reference;
                        }
                    }
                }
                StepKind::Add(add) => {
                    for source in &mut add.sources {
                        if is_git(&source.value)
                            && let Some(locked) = lock.git(&source.value)
                        {
                            source.value = pinned_git(&source.value, &locked.commit);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    pinned
}

/// The image `text` names for every target, when that is one image.
fn one_expansion(
    project: &Project,
    text: &str,
    targets: &[ResolvedTarget],
    build_args: &BTreeMap<String, String>,
) -> Option<String> {
    if !text.contains('$') {
        return Some(text.to_owned());
    }
    let mut found: Option<String> = None;
    for target in targets {
        // As the pull reads it: --build-arg values first, then the target's.
        let mut args: Vec<(String, String)> = build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        args.extend(target.args().iter().cloned());
        let expanded = project.expand_global(text, &args);
        match &found {
            Some(known) if *known != expanded => return None,
            _ => found = Some(expanded),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;
    use crate::graph::resolve_targets;
    use crate::located::Span;
    use crate::lockfile::model::{LockedGit, LockedImage, Resolution};

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn covered_images_and_git_refs_are_pinned_and_others_kept() {
        let text = r#"
[args]
BASE = "busybox:1"

[stages.a]
from = "${BASE}"
steps = [
  { copy = "/x", to = "/x", from-image = "tools:2" },
  { add = "https://example.com/repo.git#v1:sub", to = "/src" },
  { run = "true", mounts = [{ type = "bind", from = "busybox:1", target = "/m" }] },
]

[stages.b]
from = "alpine:3.20"

[targets.app]
stage = "a"
"#;
        let project = crate::check::check(&SourceFile::new("stages.toml", text))
            .project
            .expect("valid");
        let lock = Lock {
            images: vec![LockedImage {
                reference: "busybox:1".into(),
                digest: DIGEST.into(),
                platforms: Vec::new(),
                manifests: Vec::new(),
                resolution: Resolution::Registry,
                span: Span::default(),
            }],
            git: vec![LockedGit {
                source: "https://example.com/repo.git#v1:sub".into(),
                commit: "0123456789abcdef0123456789abcdef01234567".into(),
                span: Span::default(),
            }],
            ..Lock::default()
        };
        let targets = resolve_targets(&project, &["app".to_owned()]).expect("targets");
        let pinned = pin_project(&project, &lock, &targets, &BTreeMap::new());
        let a = pinned.stage("a").expect("a");
        assert_eq!(a.from.value, Base::Image(format!("busybox:1@{DIGEST}")));
        let StepKind::Copy(copy) = &a.steps[0].kind else {
            panic!()
        };
        assert_eq!(
            copy.from,
            Some(CopyFrom::Image(crate::located::Located::new(
                "tools:2".to_owned(),
                Span::default()
            )))
        );
        let StepKind::Add(add) = &a.steps[1].kind else {
            panic!()
        };
        assert_eq!(
            add.sources[0].value,
            "https://example.com/repo.git#0123456789abcdef0123456789abcdef01234567:sub"
        );
        let StepKind::Run(run) = &a.steps[2].kind else {
            panic!()
        };
        assert_eq!(
            run.mounts[0].value.from.as_ref().map(|f| f.value.clone()),
            Some(format!("busybox:1@{DIGEST}"))
        );
        assert_eq!(
            pinned.stage("b").expect("b").from.value,
            Base::Image("alpine:3.20".into())
        );
        // A build arg naming another image leaves the base as written.
        let other = BTreeMap::from([("BASE".to_owned(), "busybox:2".to_owned())]);
        let pinned = pin_project(&project, &lock, &targets, &other);
        assert_eq!(
            pinned.stage("a").expect("a").from.value,
            Base::Image("${BASE}".into())
        );
        assert_eq!(git_ref("https://h/r.git"), "HEAD");
        assert_eq!(git_ref("https://h/r.git#main:dir"), "main");
        assert_eq!(git_repository("https://h/r.git#main"), "https://h/r.git");
    }
}
