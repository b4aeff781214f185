//! The stage graph must have no cycle. Each strongly connected group of
//! stages is reported once, printing one cycle through it (`a → b → a`)
//! with a label on the reference that makes each edge.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::codes;
use crate::config::deps::{Dependency, Needed, stage_dependencies};
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, Label};

pub(super) fn check_cycles(project: &Project) -> Vec<Diagnostic> {
    let mut graph: DiGraph<usize, Dependency> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..project.stages.len())
        .map(|i| graph.add_node(i))
        .collect();
    for (i, stage) in project.stages.iter().enumerate() {
        for dependency in stage_dependencies(project, stage) {
            let Needed::Stage(name) = &dependency.on else {
                continue;
            };
            if let Some(j) = project.stages.iter().position(|s| &s.name.value == name) {
                graph.add_edge(nodes[i], nodes[j], dependency);
            }
        }
    }
    let mut components = tarjan_scc(&graph);
    components
        .iter_mut()
        .for_each(|c| c.sort_by_key(|n| graph[*n]));
    components.sort_by_key(|c| c.first().map(|n| graph[*n]));
    let mut out = Vec::new();
    for component in components {
        let Some(&start) = component.first() else {
            continue;
        };
        let looped = component.len() > 1 || graph.find_edge(start, start).is_some();
        if !looped {
            continue;
        }
        let path = cycle_through(&graph, start, &component);
        let names: Vec<&str> = path
            .iter()
            .chain(path.first())
            .map(|n| project.stages[graph[*n]].name.value.as_str())
            .collect();
        let mut diagnostic = Diagnostic::error(
            codes::CYCLE,
            format!("stages need each other in a cycle: {}", names.join(" → ")),
        );
        for (k, from) in path.iter().enumerate() {
            let to = path[(k + 1) % path.len()];
            if let Some(edge) = graph.find_edge(*from, to) {
                let dependency = &graph[edge];
                let text = format!(
                    "`{}` needs `{}` ({})",
                    project.stages[graph[*from]].name.value,
                    project.stages[graph[to]].name.value,
                    dependency.kind.as_str()
                );
                let label = if k == 0 {
                    Label::primary(dependency.span, text)
                } else {
                    Label::secondary(dependency.span, text)
                };
                diagnostic = diagnostic.with_label(label);
            }
        }
        out.push(diagnostic.with_help(
            "break the cycle: one of these stages must not need the other (move the shared part into a stage both start from)",
        ));
    }
    out
}

/// A shortest path from `start` back to itself inside `component`, as the
/// list of stages visited (the start first, not repeated at the end).
fn cycle_through(
    graph: &DiGraph<usize, Dependency>,
    start: NodeIndex,
    component: &[NodeIndex],
) -> Vec<NodeIndex> {
    if graph.find_edge(start, start).is_some() {
        return vec![start];
    }
    // Breadth-first search, so the printed cycle is as short as possible.
    let mut parent: Vec<(NodeIndex, NodeIndex)> = Vec::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = vec![start];
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph.neighbors(node).collect();
        next.sort_by_key(|n| graph[*n]);
        for neighbour in next {
            if neighbour == start {
                let mut path = vec![node];
                let mut current = node;
                while let Some(&(_, p)) = parent.iter().find(|(child, _)| *child == current) {
                    path.push(p);
                    current = p;
                }
                path.reverse();
                return path;
            }
            if component.contains(&neighbour) && !seen.contains(&neighbour) {
                seen.push(neighbour);
                parent.push((neighbour, node));
                queue.push_back(neighbour);
            }
        }
    }
    component.to_vec()
}
