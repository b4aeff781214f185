//! `stages graph`: the stage graph (or the part some targets need) as
//! text, Graphviz DOT or Mermaid.

use super::Exit;
use super::build::parse_build_args;
use super::common::{load_project, resolve, root_stages};
use crate::cli::{GraphArgs, GraphFormat};

pub fn run(args: GraphArgs) -> miette::Result<Exit> {
    let build_args = parse_build_args(&args.build_args, |key| std::env::var(key).ok())?;
    let loaded = match load_project(&args.config) {
        Ok(loaded) => loaded.with_build_args(&build_args),
        Err(exit) => return Ok(exit),
    };
    let roots = if args.targets.is_empty() {
        loaded.graph.stages().to_vec()
    } else {
        match resolve(&loaded, &args.targets) {
            Ok(targets) => root_stages(&targets),
            Err(exit) => return Ok(exit),
        }
    };
    let shown = loaded.graph.needed_stages(&roots);
    let text = match args.format {
        GraphFormat::Text => loaded.graph.render_text(&loaded.project, &shown),
        GraphFormat::Dot => loaded.graph.render_dot(&loaded.project, &shown),
        GraphFormat::Mermaid => loaded.graph.render_mermaid(&loaded.project, &shown),
    };
    print!("{text}");
    Ok(Exit::Success)
}
