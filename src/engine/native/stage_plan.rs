//! The stages a build runs, in dependency order, and for each the indexes
//! of the stages it needs: the scheduler's input, from the project graph.

use crate::graph::ProjectGraph;

/// Needed stages (dependency order) and, per stage, the stages it needs.
pub fn stage_plan(graph: &ProjectGraph, roots: &[String]) -> (Vec<String>, Vec<Vec<usize>>) {
    let stages = graph.needed_stages(roots);
    let deps = stages
        .iter()
        .map(|stage| {
            let mut needs: Vec<usize> = graph
                .stage_dependencies(stage)
                .iter()
                .filter_map(|(need, _)| stages.iter().position(|s| s == need))
                .collect();
            needs.sort_unstable();
            needs.dedup();
            needs
        })
        .collect();
    (stages, deps)
}
