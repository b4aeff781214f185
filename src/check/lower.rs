//! Lowering `raw::Manifest` to `model::Project`: fills defaults, keeps the
//! spans later rules point at, and reports what is missing or misplaced
//! (a stage without `from`, a step with no kind, a target of no kind).
//! What cannot be lowered is left out after its error is reported, so the
//! remaining rules still run over the rest of the file.

use super::builder_address::lower_builder;
use super::codes;
use super::lower_step::lower_step;
use super::lower_target::lower_target;
use crate::config::model::{
    ArgDecl, Artifact, Base, Health, ImageConfig, LintSettings, Project, Stage,
};
use crate::config::raw::{Manifest, Named, RawArtifact, RawStage};
use crate::config::{ArgDefault, FromRef, GlobalArgs, Healthcheck, Located};
use crate::diagnostics::{Diagnostic, Label};

/// The lowered project and what lowering found wrong with it.
pub(super) struct Lowered {
    pub project: Project,
    pub diagnostics: Vec<Diagnostic>,
    /// Every artifact name declared, including those left out for errors,
    /// so references to them are not reported a second time.
    pub declared_artifacts: Vec<String>,
}

pub(super) fn lower(manifest: Manifest) -> Lowered {
    let mut diagnostics = Vec::new();
    let settings = manifest.project.unwrap_or_default();
    let stages: Vec<Stage> = manifest
        .stages
        .into_iter()
        .map(|(name, raw)| lower_stage(name, raw, &mut diagnostics))
        .collect();
    if stages.is_empty() {
        diagnostics.push(
            Diagnostic::error(codes::NO_STAGES, "the file declares no stage")
                .with_help("add a stage: `[stages.app]` with `from = \"alpine:3.20\"`"),
        );
    }
    let declared_artifacts = manifest.artifacts.keys().map(|k| k.value.clone()).collect();
    let artifacts = manifest
        .artifacts
        .into_iter()
        .filter_map(|(name, raw)| lower_artifact(name, raw, &mut diagnostics))
        .collect();
    let targets = manifest
        .targets
        .into_iter()
        .filter_map(|(name, raw)| lower_target(name, raw, &mut diagnostics))
        .collect();
    let project = Project {
        name: settings.name.map(|n| n.value),
        context: settings.context.map_or_else(|| ".".to_owned(), |c| c.value),
        default_target: settings.default_target,
        reproducible: settings.reproducible,
        builder: lower_builder(settings.builder, &mut diagnostics),
        args: lower_global_args(manifest.args),
        stages,
        artifacts,
        targets,
        lint: manifest
            .lint
            .map(|l| LintSettings {
                skip: l.skip,
                error: l.error,
            })
            .unwrap_or_default(),
    };
    Lowered {
        project,
        diagnostics,
        declared_artifacts,
    }
}

pub(super) fn lower_args(args: Named<ArgDefault>) -> Vec<ArgDecl> {
    args.into_iter()
        .map(|(name, value)| ArgDecl {
            name,
            default: value.default,
        })
        .collect()
}

/// Every declaration in the order it is made: an array's in turn, the
/// ordered form's group after group.
fn lower_global_args(args: GlobalArgs) -> Vec<ArgDecl> {
    match args {
        GlobalArgs::Table(table) => table
            .into_iter()
            .flat_map(|(name, arg)| {
                arg.decls.into_iter().map(move |decl| ArgDecl {
                    name: name.clone(),
                    default: decl.default,
                })
            })
            .collect(),
        GlobalArgs::Ordered(groups) => groups
            .into_iter()
            .flat_map(|group| lower_args(group.value))
            .collect(),
    }
}

pub(super) fn lower_env(env: Named<Located<String>>) -> Vec<(Located<String>, Located<String>)> {
    env.into_iter().collect()
}

fn lower_stage(name: Located<String>, raw: RawStage, diagnostics: &mut Vec<Diagnostic>) -> Stage {
    let from = match raw.from {
        Some(from) => match from.value {
            FromRef::Image(image) => Located::new(Base::Image(image), from.span),
            FromRef::Stage(stage) => Located::new(Base::Stage(stage.value), stage.span),
        },
        None => {
            diagnostics.push(
                Diagnostic::error(
                    codes::MISSING_FROM,
                    format!("stage `{}` has no `from`", name.value),
                )
                .with_label(Label::primary(name.span, "this stage needs a base"))
                .with_help(
                    "add `from = \"image:tag\"`, `from = \"scratch\"` or `from = { stage = \"name\" }`",
                ),
            );
            Located::new(Base::Image("scratch".to_owned()), name.span)
        }
    };
    let steps = raw
        .steps
        .into_iter()
        .filter_map(|step| lower_step(step, diagnostics))
        .collect();
    let config = ImageConfig {
        cmd: raw.cmd,
        entrypoint: raw.entrypoint,
        expose: raw.expose.into_iter().map(|p| p.map(|p| p.0)).collect(),
        labels: raw.labels.into_iter().collect(),
        volumes: raw.volumes,
        healthcheck: raw.healthcheck.map(|h| {
            h.map(|h| match h {
                Healthcheck::None => Health::None,
                Healthcheck::Check(table) => Health::Check(table),
            })
        }),
        stop_signal: raw.stop_signal,
        maintainer: raw.maintainer,
        onbuild: raw.onbuild,
    };
    Stage {
        name,
        from,
        platform: raw.platform,
        args: lower_args(raw.args),
        env: lower_env(raw.env),
        workdir: raw.workdir,
        user: raw.user,
        shell: raw.shell,
        steps,
        config,
    }
}

fn lower_artifact(
    name: Located<String>,
    raw: RawArtifact,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Artifact> {
    let missing: Vec<&str> = [("stage", raw.stage.is_none()), ("path", raw.path.is_none())]
        .into_iter()
        .filter_map(|(key, absent)| absent.then_some(key))
        .collect();
    match (raw.stage, raw.path) {
        (Some(stage), Some(path)) => Some(Artifact {
            name,
            stage,
            path,
            description: raw.description,
        }),
        _ => {
            let keys = missing
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(" and ");
            diagnostics.push(
                Diagnostic::error(
                    codes::ARTIFACT_MISSING_KEY,
                    format!("artifact `{}` has no {keys}", name.value),
                )
                .with_label(Label::primary(name.span, format!("this artifact needs {keys}")))
                .with_help("give the stage that produces it and its absolute path: `stage = \"builder\"`, `path = \"/out/app\"`"),
            );
            None
        }
    }
}
