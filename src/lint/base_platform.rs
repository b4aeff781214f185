//! InvalidBaseImagePlatform, as BuildKit checks it once it has resolved a
//! base image: the image's OS and architecture against the platform the
//! stage is built for (its own platform, else the build's target, which is
//! the Engine's platform). Only images the Engine has are compared; nothing
//! is pulled.

use super::LintContext;
use super::dockerfile::from::{expand_with, meta_arg_defaults, parse_platform};
use super::finding::finding;
use super::rules;
use crate::config::model::{Base, Project, TargetKind};
use crate::diagnostics::Diagnostic;
use crate::dockerfile::Program;
use crate::located::Span;

/// A finding when `image`, as the Engine has it, is not for `expected`
/// (or, with no platform given, for the Engine's own platform).
fn mismatch(
    image: &str,
    expected: Option<&str>,
    span: Span,
    cx: &LintContext,
) -> Option<Diagnostic> {
    let actual = cx.base_platforms.get(image)?;
    let expected = expected.or(cx.engine_platform.as_deref())?;
    if expected.contains('$') {
        return None;
    }
    let (expected_os, expected_arch) = parse_platform(expected)?;
    let (actual_os, actual_arch) = parse_platform(actual)?;
    // BuildKit compares OS and architecture only, not the variant.
    if expected_os == actual_os && expected_arch == actual_arch {
        return None;
    }
    let expected = format!("{expected_os}/{expected_arch}");
    let actual = shown(actual, &actual_os, &actual_arch);
    Some(
        finding(
            &rules::INVALID_BASE_IMAGE_PLATFORM,
            span,
            format!(
                "Base image {image} was pulled with platform {actual:?}, expected {expected:?} for current build"
            ),
            format!("the Engine's {image} is for {actual}"),
        )
        .with_help(format!(
            "use an image made for {expected}, or build the stage for {actual} if that is meant"
        )),
    )
}

/// `os/arch[/variant]` as containerd normalises it for display: arm64's
/// default variant `v8` is left out.
fn shown(platform: &str, os: &str, arch: &str) -> String {
    let variant = platform.split('/').nth(2).filter(|v| !v.is_empty());
    match variant {
        Some(v) if !(arch == "arm64" && matches!(v, "8" | "v8" | "v8.0")) => {
            format!("{os}/{arch}/{v}")
        }
        _ => format!("{os}/{arch}"),
    }
}

/// Stages of a Dockerfile whose base is an image.
pub fn check_dockerfile(program: &Program<'_>, cx: &LintContext, out: &mut Vec<Diagnostic>) {
    if cx.base_platforms.is_empty() {
        return;
    }
    let meta = meta_arg_defaults(program);
    for (i, stage) in program.stages.iter().enumerate() {
        if program.resolve(stage.base()).is_some_and(|j| j < i) {
            continue;
        }
        let image = expand_with(stage.base(), &meta, program.escape);
        let expected = stage
            .platform()
            .map(|p| expand_with(p, &meta, program.escape));
        out.extend(mismatch(&image, expected.as_deref(), stage.from.span, cx));
    }
}

/// Stages of stages.toml built on an image. A stage without `platform` is
/// built for its targets' `platforms` when they name some; those are not
/// compared.
pub fn check_project(project: &Project, cx: &LintContext, out: &mut Vec<Diagnostic>) {
    if cx.base_platforms.is_empty() {
        return;
    }
    let targets_choose = project.targets.iter().any(|t| match &t.kind {
        TargetKind::Image { platforms, .. } | TargetKind::Artifacts { platforms, .. } => {
            !platforms.is_empty()
        }
    });
    for stage in &project.stages {
        let Base::Image(image) = &stage.from.value else {
            continue;
        };
        let image = project.expand_global(image, &[]);
        let expected = stage
            .platform
            .as_ref()
            .map(|p| project.expand_global(&p.value, &[]));
        if expected.is_none() && targets_choose {
            continue;
        }
        out.extend(mismatch(&image, expected.as_deref(), stage.from.span, cx));
    }
}
