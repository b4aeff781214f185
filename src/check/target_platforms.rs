//! Targets' `platforms` on the Engine's back ends. None of them chooses
//! the platform it builds for: stages builds on the Engine, for the
//! Engine's platform. A remote BuildKit builder (`--builder`) does choose
//! it, and builds a target for each platform it names.

use super::backend::{Backend, unsupported};
use super::codes;
use crate::config::model::{Project, Target, TargetKind};
use crate::diagnostics::{Diagnostic, Label};

/// Errors for the platforms of the targets whose stages are in `stages`.
pub(super) fn target_platforms(
    project: &Project,
    backend: Backend,
    stages: &[String],
    out: &mut Vec<Diagnostic>,
) {
    for target in &project.targets {
        match &target.kind {
            TargetKind::Image {
                stage, platforms, ..
            } if stages.contains(&stage.value) => image_platforms(backend, platforms, out),
            TargetKind::Artifacts { platforms, .. } if builds_any(project, target, stages) => {
                if let Some(first) = platforms.first() {
                    out.push(artifact_platforms(backend, first.span, platforms.len()));
                }
            }
            _ => {}
        }
    }
}

fn image_platforms(
    backend: Backend,
    platforms: &[crate::located::Located<String>],
    out: &mut Vec<Diagnostic>,
) {
    if platforms.len() > 1 {
        out.push(unsupported(
            backend,
            "multi-platform images",
            platforms[1].span,
            "build one platform at a time, or export the Dockerfile and use `docker buildx`",
        ));
    } else if let Some(platform) = platforms.first() {
        out.push(unsupported(
            backend,
            "a target platform",
            platform.span,
            "drop `platforms` to build for the Engine's platform, or export the Dockerfile and build it with `docker buildx build --platform`",
        ));
    }
}

/// Whether one of the target's artifacts comes from a stage of `stages`.
fn builds_any(project: &Project, target: &Target, stages: &[String]) -> bool {
    let TargetKind::Artifacts { artifacts, .. } = &target.kind else {
        return false;
    };
    artifacts
        .iter()
        .filter_map(|name| project.artifact(&name.value))
        .any(|artifact| stages.contains(&artifact.stage.value))
}

/// `platforms` on an artifact target, labelled on its first platform with
/// why this back end cannot honour it.
fn artifact_platforms(backend: Backend, span: crate::located::Span, count: usize) -> Diagnostic {
    let why = match backend {
        // Tried on Engine 20.10 (API 1.41): `/build?version=2&platform=a,b`
        // is answered 400 "is an invalid component", before any work.
        Backend::BuildKit if count > 1 => {
            "the Engine's build API takes one platform per build, not a list"
        }
        Backend::BuildKit => "stages builds on the Engine's BuildKit for the Engine's platform",
        Backend::ClassicDockerfile => "the classic builder builds for the Engine's platform only",
        Backend::Native => "the native builder runs every step on the Engine's platform",
    };
    Diagnostic::error(
        codes::UNSUPPORTED_FEATURE,
        format!(
            "{} cannot build an artifact target for other platforms",
            backend.name()
        ),
    )
    .with_label(Label::primary(span, why))
    .with_help(
        "build it on a BuildKit daemon with `--builder ADDRESS` (several platforms are written to one directory each, `DIR/linux_amd64/…`), or drop `platforms` to build for the Engine's platform",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::diagnostics::SourceFile;

    const TEXT: &str = r#"[stages.build]
from = "scratch"

[stages.other]
from = "scratch"

[artifacts.tool]
stage = "build"
path = "/tool"

[targets.dist]
artifacts = ["tool"]
output = "dist/"
platforms = ["linux/amd64", "linux/arm64"]

[targets.app]
stage = "other"
"#;

    fn refused(backend: Backend, stages: &[&str]) -> Vec<Diagnostic> {
        let outcome = check(&SourceFile::new("stages.toml", TEXT));
        let project = outcome.project.expect("artifact targets take platforms");
        let stages: Vec<String> = stages.iter().map(|s| (*s).to_owned()).collect();
        let mut out = Vec::new();
        target_platforms(&project, backend, &stages, &mut out);
        out
    }

    #[test]
    fn an_artifact_target_built_on_the_engine_is_refused_on_its_first_platform() {
        for backend in [
            Backend::Native,
            Backend::ClassicDockerfile,
            Backend::BuildKit,
        ] {
            let found = refused(backend, &["build", "other"]);
            assert_eq!(found.len(), 1, "{backend:?}: {found:?}");
            let label = &found[0].labels[0];
            assert_eq!(
                &TEXT[label.span.start..label.span.end],
                "\"linux/amd64\"",
                "{backend:?}"
            );
            assert!(found[0].help.as_deref().unwrap_or("").contains("--builder"));
        }
        let buildkit = refused(Backend::BuildKit, &["build"]);
        assert!(
            buildkit[0].labels[0]
                .text
                .contains("takes one platform per build"),
            "{buildkit:?}"
        );
    }

    #[test]
    fn an_artifact_target_whose_stages_are_not_built_is_not_refused() {
        assert!(refused(Backend::Native, &["other"]).is_empty());
    }
}
