use super::*;
use crate::check::check;
use crate::diagnostics::SourceFile;

fn project(text: &str) -> Project {
    let outcome = check(&SourceFile::new("stages.toml", text));
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    outcome.project.expect("checked")
}

const DIAMOND: &str = r#"
[stages.base]
from = "alpine:3.20"

[stages.left]
from = { stage = "base" }

[stages.right]
from = "busybox"
steps = [{ copy = "/etc/hosts", from = "base", to = "/x" }]

[stages.final]
from = { stage = "left" }
steps = [
  { copy = "/x", from = "right", to = "/x" },
  { copy = "/etc/nginx", from-image = "nginx:latest", to = "/n" },
]

[stages.unused]
from = "alpine:3.20"
"#;

#[test]
fn closure_in_dependency_order() {
    let p = project(&DIAMOND.replace("[stages.unused]\nfrom = \"alpine:3.20\"\n", ""));
    let graph = ProjectGraph::new(&p);
    assert_eq!(
        graph.needed_stages(&["final".to_owned()]),
        ["base", "left", "right", "final"]
    );
    assert_eq!(graph.needed_stages(&["left".to_owned()]), ["base", "left"]);
    assert_eq!(
        graph.waves(&graph.needed_stages(&["final".to_owned()])),
        [vec!["base"], vec!["left", "right"], vec!["final"]]
    );
}

#[test]
fn typed_edges_and_images() {
    let text = DIAMOND.replace("[stages.unused]\nfrom = \"alpine:3.20\"\n", "");
    let graph = ProjectGraph::new(&project(&text));
    assert_eq!(
        graph.stage_dependencies("final"),
        [
            ("left".to_owned(), EdgeKind::Base),
            ("right".to_owned(), EdgeKind::Copy)
        ]
    );
    assert_eq!(
        graph.image_dependencies("final"),
        [("nginx:latest".to_owned(), EdgeKind::Copy)]
    );
    assert_eq!(
        graph.external_images(),
        ["alpine:3.20", "busybox", "nginx:latest"]
    );
    assert_eq!(graph.dependents("base"), ["left", "right"]);
}

#[test]
fn targets_resolve_by_target_then_stage() {
    let p = project(
        r#"
[project]
default-target = "bin"
[stages.build]
from = "golang"
[stages.app]
from = "alpine"
steps = [{ artifact = "exe", to = "/bin/" }]
[artifacts.exe]
stage = "build"
path = "/out/exe"
[targets.img]
stage = "app"
tags = ["a:1"]
[targets.bin]
artifacts = ["exe"]
output = "dist/"
"#,
    );
    let default = resolve_targets(&p, &[]).expect("default");
    assert_eq!(default.len(), 1);
    assert_eq!(default[0].name, "bin");
    assert_eq!(default[0].stages(), ["build"]);
    let stage = resolve_targets(&p, &["build".to_owned()]).expect("a stage");
    assert!(matches!(&stage[0].kind, ResolvedKind::Image { tags, .. } if tags.is_empty()));
    let wrong = resolve_targets(&p, &["imgg".to_owned()]).expect_err("unknown");
    assert_eq!(wrong.code, codes::UNKNOWN_TARGET);
    assert_eq!(wrong.help.as_deref(), Some("did you mean `img`?"));
}

#[test]
fn without_targets_the_last_stage_is_built() {
    let p = project("[stages.a]\nfrom = \"x\"\n[stages.b]\nfrom = { stage = \"a\" }\n");
    let resolved = resolve_targets(&p, &[]).expect("default");
    assert_eq!(resolved[0].stages(), ["b"]);
}

fn stage_from(name: &str, base: &str) -> crate::config::model::Stage {
    use crate::config::Located;
    use crate::config::model::{Base, ImageConfig, Stage};
    Stage {
        name: Located::unplaced(name.to_owned()),
        from: Located::unplaced(Base::Stage(base.to_owned())),
        platform: None,
        args: Vec::new(),
        env: Vec::new(),
        workdir: None,
        user: None,
        shell: None,
        steps: Vec::new(),
        config: ImageConfig::default(),
    }
}

#[test]
fn a_cycle_still_orders_every_stage() {
    // The checker rejects cycles; the graph must still not loop or panic.
    let cyclic = Project {
        stages: vec![stage_from("a", "b"), stage_from("b", "a")],
        ..Default::default()
    };
    let graph = ProjectGraph::new(&cyclic);
    assert_eq!(graph.needed_stages(&["a".to_owned()]), ["a", "b"]);
    assert_eq!(
        graph
            .waves(&["a".to_owned(), "b".to_owned()])
            .concat()
            .len(),
        2
    );
}

#[test]
fn renderings_name_every_edge() {
    let text = DIAMOND.replace("[stages.unused]\nfrom = \"alpine:3.20\"\n", "");
    let p = project(&text);
    let graph = ProjectGraph::new(&p);
    let shown = graph.needed_stages(&["final".to_owned()]);
    let dot = graph.render_dot(&p, &shown);
    assert!(
        dot.contains("\"stage:right\" -> \"stage:final\" [label=\"copy\"];"),
        "{dot}"
    );
    let mermaid = graph.render_mermaid(&p, &shown);
    assert!(mermaid.contains("s2 -->|copy| s3"), "{mermaid}");
    let text = graph.render_text(&p, &shown);
    assert!(
        text.contains("stage final\n  base      stage left\n  copy      stage right\n"),
        "{text}"
    );
}
