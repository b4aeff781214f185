//! Rules that need the whole stage graph, which no Dockerfile linter sees:
//! artifacts lost to a later step, cache mounts exported as artifacts,
//! secrets reached by copies, unpinned bases when images are pinned, root
//! as the runtime user of an image, and whole builder filesystems copied
//! into a runtime stage.

use std::collections::{HashMap, HashSet};

use crate::config::Located;
use crate::config::model::{Base, CopyFrom, MountKind, Project, Stage, StepKind, TargetKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::lint::LintContext;
use crate::lint::finding::finding;
use crate::lint::rules;

pub fn check(project: &Project, cx: &LintContext, out: &mut Vec<Diagnostic>) {
    artifact_overwritten(project, out);
    cache_mount_exported(project, out);
    secret_path_copied(project, out);
    if let Some(locked) = &cx.locked_images {
        unpinned_base_image(project, locked, out);
    }
    root_runtime_user(project, cx, out);
    whole_stage_copied(project, out);
}

/// `path` is `dir` or lies under it.
fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    let path = path.trim_end_matches('/');
    dir.is_empty()
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Where a copy or add step writes, when it writes exactly one path.
fn written_path(kind: &StepKind) -> Option<&Located<String>> {
    match kind {
        StepKind::Copy(c) => Some(&c.to),
        StepKind::Add(a) => Some(&a.to),
        StepKind::Artifact(a) => Some(&a.to),
        _ => None,
    }
}

/// Words of a shell command that follow `rm` (its operands and flags).
fn removed_paths(script: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for command in script.split(['&', ';', '|', '\n']) {
        let mut words = command.split_whitespace();
        if words.next() == Some("rm") {
            out.extend(words.filter(|w| !w.starts_with('-')));
        }
    }
    out
}

fn artifact_overwritten(project: &Project, out: &mut Vec<Diagnostic>) {
    for artifact in &project.artifacts {
        let Some(stage) = project.stage(&artifact.stage.value) else {
            continue;
        };
        let path = artifact.path.value.as_str();
        let mentions = |kind: &StepKind| match kind {
            StepKind::Run(run) => match &run.command.value {
                crate::config::CommandForm::Shell(s) => s.contains(path),
                crate::config::CommandForm::Exec(args) => args.iter().any(|a| a.contains(path)),
            },
            other => {
                written_path(other).is_some_and(|to| within(path, &to.value) || to.value == path)
            }
        };
        let Some(first) = stage.steps.iter().position(|s| mentions(&s.kind)) else {
            continue;
        };
        for step in &stage.steps[first + 1..] {
            let why = match &step.kind {
                StepKind::Run(run) => match &run.command.value {
                    crate::config::CommandForm::Shell(script) => removed_paths(script)
                        .into_iter()
                        .any(|p| within(path, p))
                        .then_some("deletes"),
                    crate::config::CommandForm::Exec(_) => None,
                },
                other => written_path(other)
                    .is_some_and(|to| to.value.trim_end_matches('/') == path.trim_end_matches('/'))
                    .then_some("overwrites"),
            };
            if let Some(why) = why {
                out.push(
                    finding(
                        &rules::ARTIFACT_OVERWRITTEN,
                        step.span,
                        format!(
                            "a later step of stage `{}` {why} `{path}`, the path of artifact `{}`",
                            stage.name.value, artifact.name.value
                        ),
                        format!("{why} the artifact's path"),
                    )
                    .with_label(Label::secondary(artifact.path.span, "the artifact is taken from here"))
                    .with_help("take the artifact from a path no later step changes, or move the step before the one that makes it"),
                );
            }
        }
    }
}

fn cache_mount_exported(project: &Project, out: &mut Vec<Diagnostic>) {
    for artifact in &project.artifacts {
        let Some(stage) = project.stage(&artifact.stage.value) else {
            continue;
        };
        for step in &stage.steps {
            let StepKind::Run(run) = &step.kind else {
                continue;
            };
            for mount in &run.mounts {
                let Some(target) = mount.value.target.as_deref() else {
                    continue;
                };
                if mount.value.kind.is(MountKind::Cache) && within(&artifact.path.value, target) {
                    out.push(
                        finding(
                            &rules::CACHE_MOUNT_EXPORTED,
                            artifact.path.span,
                            format!(
                                "artifact `{}` is taken from `{}`, inside the cache mount at `{target}`",
                                artifact.name.value, artifact.path.value
                            ),
                            "a cache mount is not part of the stage's filesystem",
                        )
                        .with_label(Label::secondary(mount.span, "the cache mount"))
                        .with_help("copy the files out of the cache into another directory in the same `run`, and export that"),
                    );
                }
            }
        }
    }
}

/// Where each stage mounts its secrets: (stage, path, span).
fn secret_paths(stage: &Stage) -> Vec<(String, crate::located::Span)> {
    let mut out = Vec::new();
    for step in &stage.steps {
        let StepKind::Run(run) = &step.kind else {
            continue;
        };
        for mount in &run.mounts {
            if !mount.value.kind.is(MountKind::Secret)
                || (mount.value.env.is_some() && mount.value.target.is_none())
            {
                continue;
            }
            let path = match (&mount.value.target, &mount.value.id) {
                (Some(target), _) => target.clone(),
                (None, Some(id)) => format!("/run/secrets/{id}"),
                (None, None) => continue,
            };
            out.push((path, mount.span));
        }
    }
    out
}

fn secret_path_copied(project: &Project, out: &mut Vec<Diagnostic>) {
    let secrets: HashMap<&str, Vec<(String, crate::located::Span)>> = project
        .stages
        .iter()
        .map(|s| (s.name.value.as_str(), secret_paths(s)))
        .filter(|(_, paths)| !paths.is_empty())
        .collect();
    let mut report = |span, stage: &str, secret: &str, mount_span, what: &str| {
        out.push(
            finding(
                &rules::SECRET_PATH_COPIED,
                span,
                format!("{what} reaches `{secret}`, where stage `{stage}` mounts a secret"),
                "copies the secret's path",
            )
            .with_label(Label::secondary(mount_span, "the secret is mounted here"))
            .with_help("a secret mount leaves nothing in the image unless a step copies it out: copy a narrower path"),
        );
    };
    for artifact in &project.artifacts {
        for (secret, mount_span) in secrets
            .get(artifact.stage.value.as_str())
            .into_iter()
            .flatten()
        {
            if within(secret, &artifact.path.value) {
                report(
                    artifact.path.span,
                    &artifact.stage.value,
                    secret.as_str(),
                    *mount_span,
                    &format!("artifact `{}`", artifact.name.value),
                );
            }
        }
    }
    for stage in &project.stages {
        for step in &stage.steps {
            let StepKind::Copy(copy) = &step.kind else {
                continue;
            };
            let Some(CopyFrom::Stage(from)) = &copy.from else {
                continue;
            };
            for (secret, mount_span) in secrets.get(from.value.as_str()).into_iter().flatten() {
                for source in &copy.sources {
                    if within(secret, &source.value) {
                        report(
                            source.span,
                            &from.value,
                            secret.as_str(),
                            *mount_span,
                            "a copy",
                        );
                    }
                }
            }
        }
    }
}

/// With a lock, a base image is pinned when it names a digest or the lock
/// covers it (a build then reads it by the locked digest). A `from` with
/// variables is read with the args' defaults, as the lock reads it.
fn unpinned_base_image(project: &Project, locked: &[String], out: &mut Vec<Diagnostic>) {
    for stage in &project.stages {
        let Base::Image(written) = project.base_with(stage, &[]) else {
            continue;
        };
        let image = project.expand_global(&written, &[]);
        if image == "scratch" || image.contains('@') || locked.contains(&image) {
            continue;
        }
        out.push(
            finding(
                &rules::UNPINNED_BASE_IMAGE,
                stage.from.span,
                format!(
                    "base image `{image}` is named by tag only, and stages.lock does not pin it"
                ),
                "not in stages.lock",
            )
            .with_help(format!(
                "run `stages lock` to pin it, or name it with its digest: `{image}@sha256:…`"
            )),
        );
    }
}

/// The user a stage runs as, walking down its bases: `None` when no stage
/// sets one, and the image at the bottom of the chain.
fn runtime_user<'p>(
    project: &'p Project,
    stage: &'p Stage,
) -> (Option<&'p Located<String>>, Option<&'p str>) {
    let mut seen = HashSet::new();
    let mut at = Some(stage);
    while let Some(s) = at {
        if !seen.insert(s.name.value.as_str()) {
            break;
        }
        let last_step_user = s.steps.iter().rev().find_map(|st| match &st.kind {
            StepKind::User(u) => Some(u),
            _ => None,
        });
        if let Some(user) = last_step_user.or(s.user.as_ref()) {
            return (Some(user), None);
        }
        at = match &s.from.value {
            Base::Stage(base) => project.stage(base),
            Base::Image(image) => return (None, Some(image)),
        };
    }
    (None, None)
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or(user);
    name == "root" || name == "0"
}

fn root_runtime_user(project: &Project, cx: &LintContext, out: &mut Vec<Diagnostic>) {
    for target in &project.targets {
        let TargetKind::Image { stage, .. } = &target.kind else {
            continue;
        };
        let Some(runtime) = project.stage(&stage.value) else {
            continue;
        };
        let (user, image) = runtime_user(project, runtime);
        let span = match user {
            Some(user) if is_root(&user.value) => user.span,
            Some(_) => continue,
            None => {
                let image_user = image.and_then(|i| cx.base_users.get(i));
                if image_user.is_some_and(|u| !u.is_empty() && !is_root(u))
                    || image == Some("scratch")
                {
                    continue;
                }
                target.name.span
            }
        };
        out.push(
            finding(
                &rules::ROOT_RUNTIME_USER,
                span,
                format!("image target `{}` runs as root", target.name.value),
                "the container's processes run as root",
            )
            .with_help(format!(
                "set `user = \"nobody\"` (or another unprivileged user) on stage `{}`",
                stage.value
            )),
        );
    }
}

fn whole_stage_copied(project: &Project, out: &mut Vec<Diagnostic>) {
    let runtime: HashSet<&str> = project
        .targets
        .iter()
        .filter_map(|t| match &t.kind {
            TargetKind::Image { stage, .. } => Some(stage.value.as_str()),
            TargetKind::Artifacts { .. } => None,
        })
        .collect();
    for stage in &project.stages {
        if !runtime.contains(stage.name.value.as_str()) {
            continue;
        }
        for step in &stage.steps {
            let StepKind::Copy(copy) = &step.kind else {
                continue;
            };
            let Some(CopyFrom::Stage(from)) = &copy.from else {
                continue;
            };
            for source in &copy.sources {
                if matches!(source.value.as_str(), "/" | "/.") {
                    out.push(
                        finding(
                            &rules::WHOLE_STAGE_COPIED,
                            source.span,
                            format!(
                                "runtime stage `{}` copies the whole filesystem of stage `{}`",
                                stage.name.value, from.value
                            ),
                            "everything the builder has, toolchain included",
                        )
                        .with_help("copy only what the image needs, or declare it as an artifact of the builder"),
                    );
                }
            }
        }
    }
}
