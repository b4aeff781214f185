//! Whatever the text, checking it and rendering the result never panics:
//! random TOML-ish text, and real examples cut and spliced at random.

use proptest::prelude::*;
use stages::check::check;
use stages::diagnostics::{SourceFile, Style, render_human, render_json};
use stages::graph::{ProjectGraph, resolve_targets};

const SEEDS: &[&str] = &[
    include_str!("../examples/href-counter/stages.toml"),
    include_str!("../examples/artifacts-to-host/stages.toml"),
    include_str!("../examples/stage-chain/stages.toml"),
    include_str!("../examples/multi-runtime/stages.toml"),
];

const SNIPPETS: &[&str] = &[
    "[stages.x]\n",
    "from = { stage = \"builder\" }\n",
    "{ copy = \"../a\", to = \"/\" }",
    "steps = [{ run = \"$X ${Y}\" }]\n",
    "\"",
    "[",
    "]",
    "=",
    "é${",
    "[targets.t]\nartifacts = [\"app\"]\n",
    "mounts = [{ type = \"ssh\" }]",
    "\n[[stages]]\n",
];

fn exercise(text: &str) {
    let file = SourceFile::new("stages.toml", text);
    let outcome = check(&file);
    let _ = render_human(&file, &outcome.diagnostics, Style::Plain);
    let _ = render_json(&file, &outcome.diagnostics);
    if let Some(project) = &outcome.project {
        let graph = ProjectGraph::new(project);
        if let Ok(targets) = resolve_targets(project, &[]) {
            let roots: Vec<String> = targets.iter().flat_map(|t| t.stages()).collect();
            let needed = graph.needed_stages(&roots);
            let _ = graph.waves(&needed);
            let _ = graph.render_dot(project, &needed);
            let _ = graph.render_mermaid(project, &needed);
            let _ = graph.render_text(project, &needed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_text(text in "[\\[\\]a-z={}\",.$ \n#0-9é/-]{0,200}") {
        exercise(&text);
    }

    #[test]
    fn spliced_examples(
        seed in 0..SEEDS.len(),
        cut in 0usize..2000,
        len in 0usize..80,
        snippet in 0..SNIPPETS.len(),
    ) {
        let text = SEEDS[seed];
        let mut start = cut.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + len).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let spliced = format!("{}{}{}", &text[..start], SNIPPETS[snippet], &text[end..]);
        exercise(&spliced);
    }
}
