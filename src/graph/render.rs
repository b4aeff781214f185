//! Renderings of the graph for people (text) and for tools (Graphviz DOT,
//! Mermaid). Each shows a chosen list of stages, the images they use and
//! the targets built only from them; arrows run from what is needed to
//! what needs it, labelled with the edge kind.

use std::fmt::Write;

use super::{Node, ProjectGraph};
use crate::config::model::{Project, Target, TargetKind};

/// The stages a target builds directly.
fn target_stages(project: &Project, target: &Target) -> Vec<String> {
    match &target.kind {
        TargetKind::Image { stage, .. } => vec![stage.value.clone()],
        TargetKind::Artifacts { artifacts, .. } => artifacts
            .iter()
            .filter_map(|a| project.artifact(&a.value))
            .map(|a| a.stage.value.clone())
            .collect(),
    }
}

/// Targets whose stages are all among `shown`.
fn shown_targets<'a>(project: &'a Project, shown: &[String]) -> Vec<&'a Target> {
    project
        .targets
        .iter()
        .filter(|t| target_stages(project, t).iter().all(|s| shown.contains(s)))
        .collect()
}

/// Images used by the shown stages, in the order first met.
fn shown_images(graph: &ProjectGraph, shown: &[String]) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    for stage in shown {
        for (image, _) in graph.image_dependencies(stage) {
            if !images.contains(&image) {
                images.push(image);
            }
        }
    }
    images
}

fn dot_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn mermaid_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "#quot;"))
}

impl ProjectGraph {
    /// One block per stage (what it needs and why), then the targets.
    pub fn render_text(&self, project: &Project, shown: &[String]) -> String {
        let mut out = String::new();
        for stage in shown {
            let _ = writeln!(out, "stage {stage}");
            for (node, kind) in self.edges_of(stage) {
                let what = match node {
                    Node::Stage(name) => format!("stage {name}"),
                    Node::Image(image) => format!("image {image}"),
                };
                let _ = writeln!(out, "  {:<9} {what}", kind.as_str());
            }
            if project.stage(stage).is_some_and(
                |s| matches!(&s.from.value, crate::config::model::Base::Image(i) if i == "scratch"),
            ) {
                let _ = writeln!(out, "  {:<9} scratch (empty)", "base");
            }
        }
        for target in shown_targets(project, shown) {
            let line = match &target.kind {
                TargetKind::Image { stage, tags, .. } => {
                    let tags: Vec<&str> = tags.iter().map(|t| t.value.as_str()).collect();
                    if tags.is_empty() {
                        format!("image of stage {}", stage.value)
                    } else {
                        format!("image of stage {}, tagged {}", stage.value, tags.join(", "))
                    }
                }
                TargetKind::Artifacts {
                    artifacts, output, ..
                } => {
                    let names: Vec<String> = artifacts
                        .iter()
                        .map(|a| match project.artifact(&a.value) {
                            Some(found) => format!("{} (stage {})", a.value, found.stage.value),
                            None => a.value.clone(),
                        })
                        .collect();
                    format!("artifacts {} → {}", names.join(", "), output.value)
                }
            };
            let _ = writeln!(out, "target {}: {line}", target.name.value);
        }
        out
    }

    /// Graphviz DOT: stages are boxes, images dashed ellipses, targets notes.
    pub fn render_dot(&self, project: &Project, shown: &[String]) -> String {
        let mut out = String::from("digraph stages {\n  rankdir=LR;\n");
        for image in shown_images(self, shown) {
            let _ = writeln!(
                out,
                "  {} [label={}, shape=ellipse, style=dashed];",
                dot_quote(&format!("image:{image}")),
                dot_quote(&image)
            );
        }
        for stage in shown {
            let _ = writeln!(
                out,
                "  {} [label={}, shape=box];",
                dot_quote(&format!("stage:{stage}")),
                dot_quote(stage)
            );
        }
        let targets = shown_targets(project, shown);
        for target in &targets {
            let _ = writeln!(
                out,
                "  {} [label={}, shape=note];",
                dot_quote(&format!("target:{}", target.name.value)),
                dot_quote(&target.name.value)
            );
        }
        for stage in shown {
            for (node, kind) in self.edges_of(stage) {
                let from = match &node {
                    Node::Stage(name) => format!("stage:{name}"),
                    Node::Image(image) => format!("image:{image}"),
                };
                let _ = writeln!(
                    out,
                    "  {} -> {} [label={}];",
                    dot_quote(&from),
                    dot_quote(&format!("stage:{stage}")),
                    dot_quote(kind.as_str())
                );
            }
        }
        for target in &targets {
            for stage in dedup(target_stages(project, target)) {
                let _ = writeln!(
                    out,
                    "  {} -> {} [style=bold];",
                    dot_quote(&format!("stage:{stage}")),
                    dot_quote(&format!("target:{}", target.name.value))
                );
            }
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart: stages are boxes, images stadiums, targets flags.
    pub fn render_mermaid(&self, project: &Project, shown: &[String]) -> String {
        let mut out = String::from("flowchart LR\n");
        let images = shown_images(self, shown);
        let id = |node: &Node| match node {
            Node::Stage(name) => format!(
                "s{}",
                shown.iter().position(|s| s == name).unwrap_or(usize::MAX)
            ),
            Node::Image(image) => format!(
                "i{}",
                images.iter().position(|i| i == image).unwrap_or(usize::MAX)
            ),
        };
        for (k, image) in images.iter().enumerate() {
            let _ = writeln!(out, "  i{k}([{}])", mermaid_quote(image));
        }
        for (k, stage) in shown.iter().enumerate() {
            let _ = writeln!(out, "  s{k}[{}]", mermaid_quote(stage));
        }
        let targets = shown_targets(project, shown);
        for (k, target) in targets.iter().enumerate() {
            let _ = writeln!(
                out,
                "  t{k}>{}]",
                mermaid_quote(&format!("target {}", target.name.value))
            );
        }
        for stage in shown {
            for (node, kind) in self.edges_of(stage) {
                if matches!(&node, Node::Stage(name) if !shown.contains(name)) {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "  {} -->|{}| {}",
                    id(&node),
                    kind.as_str(),
                    id(&Node::Stage(stage.clone()))
                );
            }
        }
        for (k, target) in targets.iter().enumerate() {
            for stage in dedup(target_stages(project, target)) {
                let _ = writeln!(out, "  {} ==> t{k}", id(&Node::Stage(stage)));
            }
        }
        out
    }
}

fn dedup(mut names: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    names.retain(|n| {
        let fresh = !seen.contains(n);
        if fresh {
            seen.push(n.clone());
        }
        fresh
    });
    names
}
