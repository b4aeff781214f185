//! The stage graph: a petgraph DAG of stages and the external images they
//! use, with typed edges (base, copy, mount, artifact); the closure a set
//! of stages needs, in dependency order; parallel waves; renderings.
//!
//! Built from a checked `config::model::Project`. Reads `config` only; must
//! not import `check`, `convert`, `engine` or the terminal.

pub mod codes;
mod render;
mod targets;

use std::collections::{HashMap, HashSet};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

pub use crate::config::deps::EdgeKind;
use crate::config::deps::{Needed, stage_dependencies};
use crate::config::model::Project;
pub use targets::{ResolvedArtifact, ResolvedKind, ResolvedTarget, resolve_targets};

/// A node: a stage of the project, or an image it reads from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Stage(String),
    Image(String),
}

impl Node {
    pub fn name(&self) -> &str {
        match self {
            Node::Stage(name) | Node::Image(name) => name,
        }
    }
}

/// The project's stages and images; an edge `a → b` means `a` needs `b`.
#[derive(Debug, Clone)]
pub struct ProjectGraph {
    graph: DiGraph<Node, EdgeKind>,
    index: HashMap<Node, NodeIndex>,
    /// Stage names in file order: the tie-breaker for every ordering.
    stages: Vec<String>,
}

impl ProjectGraph {
    /// Lowers a project to its graph. Never fails: a cyclic project (which
    /// the checker rejects) still gives a graph, and orderings stay total.
    pub fn new(project: &Project) -> Self {
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        let mut add = |graph: &mut DiGraph<Node, EdgeKind>, node: Node| {
            *index
                .entry(node.clone())
                .or_insert_with(|| graph.add_node(node))
        };
        let stages: Vec<String> = project
            .stages
            .iter()
            .map(|s| s.name.value.clone())
            .collect();
        for name in &stages {
            add(&mut graph, Node::Stage(name.clone()));
        }
        for stage in &project.stages {
            let from = add(&mut graph, Node::Stage(stage.name.value.clone()));
            for dependency in stage_dependencies(project, stage) {
                let to = match dependency.on {
                    Needed::Stage(name) => add(&mut graph, Node::Stage(name)),
                    Needed::Image(image) => add(&mut graph, Node::Image(image)),
                };
                let exists = graph
                    .edges_connecting(from, to)
                    .any(|e| *e.weight() == dependency.kind);
                if !exists {
                    graph.add_edge(from, to, dependency.kind);
                }
            }
        }
        Self {
            graph,
            index,
            stages,
        }
    }

    /// Stage names in file order.
    pub fn stages(&self) -> &[String] {
        &self.stages
    }

    /// Every external image some stage uses, in the order first met.
    pub fn external_images(&self) -> Vec<String> {
        self.graph
            .node_indices()
            .filter_map(|n| match &self.graph[n] {
                Node::Image(image) => Some(image.clone()),
                Node::Stage(_) => None,
            })
            .collect()
    }

    fn edges_of(&self, stage: &str) -> Vec<(Node, EdgeKind)> {
        let Some(&node) = self.index.get(&Node::Stage(stage.to_owned())) else {
            return Vec::new();
        };
        // petgraph lists outgoing edges newest first; reverse to written order.
        let mut edges: Vec<(Node, EdgeKind)> = self
            .graph
            .edges_directed(node, Direction::Outgoing)
            .map(|e| (self.graph[e.target()].clone(), *e.weight()))
            .collect();
        edges.reverse();
        edges
    }

    /// The stages `stage` needs directly, with why, in the order written.
    pub fn stage_dependencies(&self, stage: &str) -> Vec<(String, EdgeKind)> {
        self.edges_of(stage)
            .into_iter()
            .filter_map(|(node, kind)| match node {
                Node::Stage(name) => Some((name, kind)),
                Node::Image(_) => None,
            })
            .collect()
    }

    /// The external images `stage` needs directly (its base image, `from-image`
    /// copies, mounts from images), with why, in the order written.
    pub fn image_dependencies(&self, stage: &str) -> Vec<(String, EdgeKind)> {
        self.edges_of(stage)
            .into_iter()
            .filter_map(|(node, kind)| match node {
                Node::Image(image) => Some((image, kind)),
                Node::Stage(_) => None,
            })
            .collect()
    }

    /// The stages that `stage` is needed by directly.
    pub fn dependents(&self, stage: &str) -> Vec<String> {
        let Some(&node) = self.index.get(&Node::Stage(stage.to_owned())) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self
            .graph
            .neighbors_directed(node, Direction::Incoming)
            .map(|n| self.graph[n].name().to_owned())
            .collect();
        self.sort_by_file_order(&mut names);
        names.dedup();
        names
    }

    fn file_position(&self, stage: &str) -> usize {
        self.stages
            .iter()
            .position(|s| s == stage)
            .unwrap_or(usize::MAX)
    }

    fn sort_by_file_order(&self, names: &mut [String]) {
        names.sort_by_key(|n| self.file_position(n));
    }

    /// `roots` and every stage they need, in dependency order (a stage after
    /// all it needs), file order breaking ties. Unknown names are ignored.
    pub fn needed_stages(&self, roots: &[String]) -> Vec<String> {
        let mut closure: HashSet<String> = HashSet::new();
        let mut stack: Vec<String> = roots
            .iter()
            .filter(|r| self.index.contains_key(&Node::Stage((*r).clone())))
            .cloned()
            .collect();
        while let Some(name) = stack.pop() {
            if closure.insert(name.clone()) {
                stack.extend(self.stage_dependencies(&name).into_iter().map(|(n, _)| n));
            }
        }
        self.dependency_order(&closure)
    }

    /// A topological order of `set`, taking the earliest stage in file order
    /// among those ready; a cycle (rejected by the checker) ends in file order.
    fn dependency_order(&self, set: &HashSet<String>) -> Vec<String> {
        let mut pending: Vec<String> = self
            .stages
            .iter()
            .filter(|s| set.contains(*s))
            .cloned()
            .collect();
        let mut done: HashSet<String> = HashSet::new();
        let mut order = Vec::new();
        while !pending.is_empty() {
            let ready = pending.iter().position(|s| {
                self.stage_dependencies(s)
                    .iter()
                    .all(|(d, _)| done.contains(d) || !set.contains(d))
            });
            let next = pending.remove(ready.unwrap_or(0));
            done.insert(next.clone());
            order.push(next);
        }
        order
    }

    /// Groups `needed` into waves: every stage of a wave needs only stages of
    /// earlier waves, so a wave's stages can be built at the same time.
    /// Each wave is in file order.
    pub fn waves(&self, needed: &[String]) -> Vec<Vec<String>> {
        let set: HashSet<String> = needed.iter().cloned().collect();
        let order = self.dependency_order(&set);
        let mut level: HashMap<String, usize> = HashMap::new();
        for stage in &order {
            let depth = self
                .stage_dependencies(stage)
                .iter()
                .filter_map(|(d, _)| level.get(d).map(|l| l + 1))
                .max()
                .unwrap_or(0);
            level.insert(stage.clone(), depth);
        }
        let count = level.values().max().map_or(0, |m| m + 1);
        let mut waves = vec![Vec::new(); count];
        for stage in &self.stages {
            if let Some(&l) = level.get(stage) {
                waves[l].push(stage.clone());
            }
        }
        waves
    }

    /// The petgraph graph itself, for callers that need more.
    pub fn inner(&self) -> &DiGraph<Node, EdgeKind> {
        &self.graph
    }
}

#[cfg(test)]
mod tests;
