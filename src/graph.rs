//! The stage graph: lowering to petgraph, target closure, topological waves.
