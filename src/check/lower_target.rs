//! Lowering one target: an image target (`stage`, with tags, labels,
//! platforms) or an artifact target (`artifacts`, `output`, platforms),
//! never both.

use super::codes;
use super::lower::lower_env;
use crate::config::Located;
use crate::config::model::{Target, TargetKind};
use crate::config::raw::RawTarget;
use crate::diagnostics::{Diagnostic, Label};

pub(super) fn lower_target(
    name: Located<String>,
    raw: RawTarget,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Target> {
    let artifact_span = raw
        .artifacts
        .first()
        .map(|a| a.span)
        .or(raw.output.as_ref().map(|o| o.span));
    let args = lower_env(raw.args);
    match (raw.stage, artifact_span) {
        (Some(stage), Some(artifact_span)) => {
            diagnostics.push(
                Diagnostic::error(
                    codes::TARGET_KIND,
                    format!(
                        "target `{}` is both an image target and an artifact target",
                        name.value
                    ),
                )
                .with_label(Label::primary(artifact_span, "artifact target key"))
                .with_label(Label::secondary(stage.span, "image target key"))
                .with_help(
                    "split it in two targets: one with `stage`, one with `artifacts` and `output`",
                ),
            );
            None
        }
        (None, None) => {
            diagnostics.push(
                Diagnostic::error(
                    codes::TARGET_KIND,
                    format!("target `{}` builds nothing", name.value),
                )
                .with_label(Label::primary(name.span, "neither `stage` nor `artifacts`"))
                .with_help("add `stage = \"name\"` for an image, or `artifacts = [..]` and `output = \"dir/\"` for files on the host"),
            );
            None
        }
        (Some(stage), None) => Some(Target {
            name,
            kind: TargetKind::Image {
                stage,
                tags: raw.tags,
                labels: raw.labels.into_iter().collect(),
                platforms: raw.platforms,
            },
            args,
        }),
        (None, Some(_)) => {
            let mut ok = true;
            let image_keys = [
                ("tags", raw.tags.first().map(|t| t.span)),
                ("labels", (!raw.labels.is_empty()).then_some(name.span)),
            ];
            for (key, span) in image_keys {
                if let Some(span) = span {
                    ok = false;
                    diagnostics.push(
                        Diagnostic::error(
                            codes::TARGET_FOREIGN_KEY,
                            format!("an artifact target takes no `{key}`"),
                        )
                        .with_label(Label::primary(
                            span,
                            format!("`{key}` is for image targets"),
                        ))
                        .with_help(format!(
                            "remove `{key}`, or make a separate image target with `stage`"
                        )),
                    );
                }
            }
            if raw.artifacts.is_empty() {
                ok = false;
                diagnostics.push(
                    Diagnostic::error(
                        codes::TARGET_MISSING_KEY,
                        format!("artifact target `{}` names no artifact", name.value),
                    )
                    .with_label(Label::primary(name.span, "which artifacts?"))
                    .with_help("add `artifacts = [\"name\"]`, naming entries of `[artifacts]`"),
                );
            }
            match raw.output {
                Some(output) if ok => Some(Target {
                    name,
                    kind: TargetKind::Artifacts {
                        artifacts: raw.artifacts,
                        output,
                        platforms: raw.platforms,
                    },
                    args,
                }),
                Some(_) => None,
                None => {
                    diagnostics.push(
                        Diagnostic::error(
                            codes::TARGET_MISSING_KEY,
                            format!("artifact target `{}` has no `output`", name.value),
                        )
                        .with_label(Label::primary(name.span, "where should the files go?"))
                        .with_help(
                            "add `output = \"dist/\"`: a host directory, relative to stages.toml",
                        ),
                    );
                    None
                }
            }
        }
    }
}
