//! Where an artifact target's files go: the directory `--output` named
//! for it, as given (the user's word); else its `output` in stages.toml,
//! which must stay inside the project directory once every symlink on the
//! way is resolved, so `output = "out"` with `out -> /etc` is refused.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::check::output_outside_project;
use crate::config::model::{Project, TargetKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::codes;
use crate::graph::{ResolvedKind, ResolvedTarget};

/// How many symlinks the resolution may pass through.
const MAX_LINKS: usize = 40;

/// An output directory and where its staging directory is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputDir {
    pub path: PathBuf,
    /// Staged inside the output directory rather than beside it: its
    /// parent is outside the project, or it has none (`/`).
    pub stage_within: bool,
}

/// Why a configured output directory is refused.
#[derive(Debug, thiserror::Error)]
pub enum OutsideProject {
    #[error("it is not a relative path inside the project directory")]
    Lexically,
    #[error("it resolves to {}, outside the project directory {}", resolved.display(), project.display())]
    ThroughLinks { resolved: PathBuf, project: PathBuf },
    #[error("it passes through a symlink that leads nowhere or loops: {}", link.display())]
    BrokenLink { link: PathBuf },
    #[error("cannot read the project directory {}", project.display())]
    Unreadable {
        project: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The output directory of an artifact target (`None` for an image
/// target): the one `--output` gave (in `overrides`), else its own,
/// inside the project; refused with the span of its `output`.
pub fn target_output_dir(
    project: &Project,
    project_dir: &Path,
    overrides: &BTreeMap<String, PathBuf>,
    target: &ResolvedTarget,
) -> Result<Option<OutputDir>, Diagnostic> {
    let ResolvedKind::Artifacts { output, .. } = &target.kind else {
        return Ok(None);
    };
    if let Some(given) = overrides.get(&target.name) {
        return Ok(Some(given_on_command_line(given)));
    }
    inside_project(project_dir, output)
        .map(Some)
        .map_err(|error| {
            let span = project
                .target(&target.name)
                .and_then(|t| match &t.kind {
                    TargetKind::Artifacts { output, .. } => Some(output.span),
                    TargetKind::Image { .. } => None,
                })
                .unwrap_or_default();
            Diagnostic::error(
                codes::OUTPUT_OUTSIDE_PROJECT,
                format!(
                    "target `{}`: output `{output}` is refused: {error}",
                    target.name
                ),
            )
            .with_label(Label::primary(span, "this output directory"))
            .with_help(format!(
                "make it a directory inside the project, or pass `--output {}=DIR` to `stages build` to export elsewhere; nothing was built or written",
                target.name
            ))
        })
}

/// The output directory a command-line `--output` names (made absolute
/// from the current directory), taken as given.
pub fn given_on_command_line(path: &Path) -> OutputDir {
    let stage_within = path.parent().is_none_or(|p| p.as_os_str().is_empty());
    OutputDir {
        path: path.to_owned(),
        stage_within,
    }
}

/// Resolves `output` (relative to `project_dir`) through the symlinks that
/// exist now; components that do not exist yet are created as plain
/// directories by the export.
pub fn inside_project(project_dir: &Path, output: &str) -> Result<OutputDir, OutsideProject> {
    if output_outside_project(output).is_some() {
        return Err(OutsideProject::Lexically);
    }
    let root = fs::canonicalize(project_dir).map_err(|source| OutsideProject::Unreadable {
        project: project_dir.to_owned(),
        source,
    })?;
    let mut current = root.clone();
    let mut links = 0;
    for component in Path::new(output).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                current.pop();
            }
            Component::RootDir | Component::Prefix(_) => return Err(OutsideProject::Lexically),
            Component::Normal(part) => {
                let next = current.join(part);
                let is_link = fs::symlink_metadata(&next).is_ok_and(|m| m.file_type().is_symlink());
                if is_link {
                    links += 1;
                    current = match fs::canonicalize(&next) {
                        Ok(resolved) if links <= MAX_LINKS => resolved,
                        _ => return Err(OutsideProject::BrokenLink { link: next }),
                    };
                } else {
                    current = next;
                }
                if !current.starts_with(&root) {
                    return Err(OutsideProject::ThroughLinks {
                        resolved: current,
                        project: root,
                    });
                }
            }
        }
    }
    if !current.starts_with(&root) {
        return Err(OutsideProject::ThroughLinks {
            resolved: current,
            project: root,
        });
    }
    let stage_within = current == root;
    Ok(OutputDir {
        path: current,
        stage_within,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn plain_and_missing_directories_resolve_inside() {
        let project = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(project.path()).unwrap();
        fs::create_dir(root.join("real")).unwrap();
        symlink("real", root.join("inner-link")).unwrap();
        let cases = [
            ("dist/", root.join("dist"), false),
            ("real/sub", root.join("real/sub"), false),
            ("inner-link/x", root.join("real/x"), false),
            ("a/../b", root.join("b"), false),
            (".", root.clone(), true),
        ];
        for (output, path, stage_within) in cases {
            let dir = inside_project(project.path(), output).unwrap();
            assert_eq!(dir, OutputDir { path, stage_within }, "{output}");
        }
    }

    #[test]
    fn symlinks_that_leave_the_project_are_refused() {
        let project = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        symlink(elsewhere.path(), project.path().join("out")).unwrap();
        symlink("..", project.path().join("up")).unwrap();
        symlink("/etc", project.path().join("etc")).unwrap();
        symlink("nowhere", project.path().join("dangling")).unwrap();
        symlink("loop", project.path().join("loop")).unwrap();
        for output in ["out", "out/", "out/sub", "up/x", "etc", "./etc/ssh"] {
            assert!(
                matches!(
                    inside_project(project.path(), output),
                    Err(OutsideProject::ThroughLinks { .. })
                ),
                "{output}"
            );
        }
        for output in ["dangling", "loop/x"] {
            assert!(
                matches!(
                    inside_project(project.path(), output),
                    Err(OutsideProject::BrokenLink { .. })
                ),
                "{output}"
            );
        }
        for output in ["/", "..", "/root/.ssh", "a/../../b"] {
            assert!(
                matches!(
                    inside_project(project.path(), output),
                    Err(OutsideProject::Lexically)
                ),
                "{output}"
            );
        }
    }

    #[test]
    fn a_command_line_output_without_a_parent_is_staged_within() {
        assert!(!given_on_command_line(Path::new("/tmp/x")).stage_within);
        assert!(given_on_command_line(Path::new("/")).stage_within);
    }
}
