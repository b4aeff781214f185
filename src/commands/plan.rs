//! `stages plan`: what a build of the given targets (default: the default
//! target) would do — the targets, the images it reads, the stages in
//! parallel waves, and the stages it prunes.

use std::fmt::Write;

use super::Exit;
use super::build::parse_build_args;
use super::common::{
    LoadedProject, load_project, plural, resolve, root_stages, warn_unconsumed_build_args,
};
use crate::cli::PlanArgs;
use crate::graph::{ResolvedKind, ResolvedTarget};

pub fn run(args: PlanArgs) -> miette::Result<Exit> {
    let build_args = parse_build_args(&args.build_args, |key| std::env::var(key).ok())?;
    let loaded = match load_project(&args.config) {
        Ok(loaded) => loaded,
        Err(exit) => return Ok(exit),
    };
    let targets = match resolve(&loaded, &args.targets) {
        Ok(targets) => targets,
        Err(exit) => return Ok(exit),
    };
    let loaded = loaded.with_build_args(&build_args);
    warn_unconsumed_build_args(&loaded, &targets, &build_args);
    print!("{}", render_plan(&loaded, &targets));
    Ok(Exit::Success)
}

fn describe(target: &ResolvedTarget) -> String {
    match &target.kind {
        ResolvedKind::Image { stage, tags, .. } if tags.is_empty() => {
            format!("image of stage {stage}, untagged")
        }
        ResolvedKind::Image { stage, tags, .. } => {
            format!("image of stage {stage}, tagged {}", tags.join(", "))
        }
        ResolvedKind::Artifacts {
            artifacts,
            output,
            platforms,
            ..
        } => {
            let names: Vec<String> = artifacts
                .iter()
                .map(|a| format!("{} ({}:{})", a.name, a.stage, a.path))
                .collect();
            let for_platforms = match platforms.len() {
                0 => String::new(),
                1 => format!(" for {}", platforms[0]),
                _ => format!(" for {}, one directory each", platforms.join(", ")),
            };
            format!("artifacts {} → {output}{for_platforms}", names.join(", "))
        }
    }
}

/// The plan as text: targets, images, waves, pruned stages, a count.
pub fn render_plan(loaded: &LoadedProject, targets: &[ResolvedTarget]) -> String {
    let graph = &loaded.graph;
    let needed = graph.needed_stages(&root_stages(targets));
    let waves = graph.waves(&needed);
    let mut out = String::new();
    let _ = writeln!(out, "targets:");
    for target in targets {
        let _ = writeln!(out, "  {}: {}", target.name, describe(target));
    }
    let mut images: Vec<String> = Vec::new();
    for stage in &needed {
        for (image, _) in graph.image_dependencies(stage) {
            if !images.contains(&image) {
                images.push(image);
            }
        }
    }
    if !images.is_empty() {
        let _ = writeln!(out, "images:");
        for image in &images {
            let expanded = loaded.project.expand_global(image, &[]);
            if expanded == *image {
                let _ = writeln!(out, "  {image}");
            } else {
                let _ = writeln!(out, "  {image} (by default {expanded})");
            }
        }
    }
    let _ = writeln!(out, "waves:");
    for (k, wave) in waves.iter().enumerate() {
        let _ = writeln!(out, "  {}: {}", k + 1, wave.join(", "));
    }
    let pruned: Vec<&String> = graph
        .stages()
        .iter()
        .filter(|s| !needed.contains(s))
        .collect();
    if !pruned.is_empty() {
        let names: Vec<&str> = pruned.iter().map(|s| s.as_str()).collect();
        let _ = writeln!(out, "pruned: {}", names.join(", "));
    }
    let _ = writeln!(
        out,
        "{} of {} in {}, {} pruned",
        needed.len(),
        plural(graph.stages().len(), "stage"),
        plural(waves.len(), "wave"),
        pruned.len()
    );
    out
}
