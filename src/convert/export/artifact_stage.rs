//! An artifact target as a last stage: `FROM scratch AS <target>` holding
//! each artifact under the last component of its path, so that
//! `docker buildx build --target <target> --output type=local,dest=<dir> .`
//! writes the files `stages build <target>` writes (artifacts land in the
//! output directory the way `docker cp` places them).

use super::{Emitter, steps};
use crate::check::is_valid_stage_name;
use crate::config::model::{ArtifactCopy, CopyOptions, Project, TargetKind};
use crate::convert::codes;
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Located;

/// Emits the stage of artifact target `name` (which must exist and be an
/// artifact target) after the stages it copies from.
pub(super) fn emit_artifact_stage(
    out: &mut Emitter,
    project: &Project,
    name: &str,
) -> Result<(), Diagnostic> {
    let Some(target) = project.target(name) else {
        return Err(Diagnostic::error(
            codes::UNKNOWN_STAGE,
            format!("no target is named `{name}`"),
        ));
    };
    let TargetKind::Artifacts { artifacts, .. } = &target.kind else {
        return Ok(());
    };
    if !is_valid_stage_name(name) || project.stage(name).is_some() {
        let why = if project.stage(name).is_some() {
            "a stage has the same name"
        } else {
            "it is not a valid stage name"
        };
        return Err(Diagnostic::error(
            codes::INEXPRESSIBLE,
            format!("artifact target `{name}` cannot be a Dockerfile stage: {why}"),
        )
        .with_label(Label::primary(target.name.span, "this target"))
        .with_help("rename the target (lower case letters, digits, `-`, `_`, `.`, unlike any stage), or export only the stages it needs"));
    }
    out.body.push('\n');
    out.lines += 1;
    out.emit(&format!("FROM scratch AS {name}"), false, name, None);
    for artifact in artifacts {
        let Some(declared) = project.artifact(&artifact.value) else {
            continue;
        };
        let file_name = declared
            .path
            .value
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        if file_name.is_empty() {
            return Err(Diagnostic::error(
                codes::INEXPRESSIBLE,
                format!(
                    "artifact `{}` is the whole root of its stage",
                    artifact.value
                ),
            )
            .with_label(Label::primary(declared.path.span, "this path"))
            .with_help("name a file or directory below `/`"));
        }
        let copy = ArtifactCopy {
            artifact: artifact.clone(),
            to: Located::new(format!("/{file_name}"), artifact.span),
            options: CopyOptions::default(),
        };
        let (text, buildkit) = steps::artifact(&copy, project)?;
        out.emit(&text, buildkit, name, None);
    }
    Ok(())
}
