//! Paths: artifact paths are absolute inside their stage; sources read from
//! the build context (copies without `from`, local `add` sources, bind
//! mounts without `from`) are relative and never climb out with `..`.
//! Symlinks that leave the context are caught at build time by the engine.

use super::codes;
use crate::config::Located;
use crate::config::model::{MountKind, Project, StepKind};
use crate::diagnostics::{Diagnostic, Label};

/// Whether `source` names a path inside the context (relative, no escaping `..`).
pub fn stays_in_context(source: &str) -> bool {
    if source.starts_with('/') {
        return false;
    }
    let mut depth: usize = 0;
    for part in source.split('/') {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => depth += 1,
        }
    }
    true
}

fn is_remote(source: &str) -> bool {
    source.contains("://") || source.starts_with("git@")
}

pub(super) fn check_paths(project: &Project) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for artifact in &project.artifacts {
        let path = &artifact.path.value;
        if !path.starts_with('/') && !path.starts_with('$') {
            out.push(
                Diagnostic::error(
                    codes::RELATIVE_ARTIFACT_PATH,
                    format!("artifact path `{path}` is not absolute"),
                )
                .with_label(Label::primary(artifact.path.span, "a relative path"))
                .with_help(format!(
                    "write the full path inside stage `{}`, e.g. `/{}`",
                    artifact.stage.value,
                    path.trim_start_matches("./")
                )),
            );
        }
    }
    for stage in &project.stages {
        for step in &stage.steps {
            match &step.kind {
                StepKind::Copy(copy) if copy.from.is_none() => {
                    copy.sources.iter().for_each(|s| source(s, &mut out));
                }
                StepKind::Add(add) => add
                    .sources
                    .iter()
                    .filter(|s| !is_remote(&s.value))
                    .for_each(|s| source(s, &mut out)),
                StepKind::Run(run) => {
                    for mount in &run.mounts {
                        let mount = &mount.value;
                        if mount.kind.is(MountKind::Bind)
                            && mount.from.is_none()
                            && let Some(path) = &mount.source
                        {
                            source(&Located::new(path.clone(), step.span), &mut out);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn source(source: &Located<String>, out: &mut Vec<Diagnostic>) {
    if stays_in_context(&source.value) {
        return;
    }
    let (label, help) = if source.value.starts_with('/') {
        (
            "an absolute path",
            format!(
                "write the path relative to the build context: `{}`",
                source.value.trim_start_matches('/')
            ),
        )
    } else {
        (
            "climbs out of the build context",
            "move the file into the context, or widen `context` in `[project]`".to_owned(),
        )
    };
    out.push(
        Diagnostic::error(
            codes::SOURCE_OUTSIDE_CONTEXT,
            format!("source `{}` is outside the build context", source.value),
        )
        .with_label(Label::primary(source.span, label))
        .with_help(help),
    );
}

#[cfg(test)]
mod tests {
    use super::stays_in_context;

    #[test]
    fn context_paths() {
        for ok in ["a", "./a/b", "a/../b", "src/", ".", "*.go"] {
            assert!(stays_in_context(ok), "{ok}");
        }
        for bad in ["/etc/passwd", "..", "../a", "a/../../b", "./../x"] {
            assert!(!stays_in_context(bad), "{bad}");
        }
    }
}
