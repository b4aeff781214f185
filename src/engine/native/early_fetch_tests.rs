//! Files copied out of a stage's last RUN are read from its container,
//! while it is committed, and the copy gets what a container of the
//! committed image holds.

use std::sync::Arc;

use super::build::{BuildOptions, NativeBuild, StageOutput, run_build};
use super::copy::NoFilter;
use super::engine_api::ImageSettings;
use super::fake_engine::FakeEngine;
use super::observer::Silent;
use super::scheduler::{Outcome, ScheduleOptions};
use super::stage_plan::stage_plan;
use crate::diagnostics::SourceFile;
use crate::graph::ProjectGraph;

const PROJECT: &str = r#"
[stages.made]
from = "busybox:test"
steps = [{ run = "make" }]

[stages.tooled]
from = "busybox:test"
steps = [{ run = "make tools", mounts = [{ type = "cache", target = "/root/.cache" }] }]

[stages.gather]
from = "busybox:test"
steps = [
  { copy = "/ran", from = "made", to = "/in/made" },
  { copy = "/ran", from = "tooled", to = "/in/tooled" },
]
"#;

async fn build(engine: &Arc<FakeEngine>) -> Vec<(String, StageOutput)> {
    let outcome = crate::check::check(&SourceFile::new("stages.toml", PROJECT));
    let project = outcome
        .project
        .unwrap_or_else(|| panic!("{:?}", outcome.diagnostics));
    let (stages, deps) = stage_plan(&ProjectGraph::new(&project), &["gather".to_owned()]);
    let dir = tempfile::tempdir().expect("context");
    let options = BuildOptions {
        build_id: "build-1".into(),
        project_id: "0123456789abcdef".into(),
        context_dir: dir.path().to_path_buf(),
        ..BuildOptions::default()
    };
    let native = NativeBuild::new(
        Arc::clone(engine),
        Arc::new(project),
        stages.clone(),
        options,
        Arc::new(NoFilter),
        Arc::new(Silent),
    )
    .expect("build");
    let outcomes = run_build(
        Arc::new(native),
        &deps,
        ScheduleOptions::new(Some(2), false),
    )
    .await;
    stages
        .into_iter()
        .zip(outcomes)
        .map(|(stage, outcome)| match outcome {
            Outcome::Done(output) => (stage, output),
            other => panic!("{stage}: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_copy_from_a_run_without_mounts_needs_no_container_of_its_image() {
    let engine = Arc::new(FakeEngine::with_image(
        "busybox:test",
        &[("/bin/sh", "#!")],
        ImageSettings::default(),
    ));
    let outputs = build(&engine).await;
    let image_of = |name: &str| {
        outputs
            .iter()
            .find(|(stage, _)| stage == name)
            .map(|(_, output)| output.image.clone())
            .expect("built")
    };
    let (made, tooled, gather) = (image_of("made"), image_of("tooled"), image_of("gather"));
    let state = engine.lock();
    let containers_of = |image: &str| {
        state
            .created
            .iter()
            .filter(|spec| spec.image == image)
            .count()
    };
    assert_eq!(containers_of(&made), 0, "read from the RUN's container");
    assert_eq!(
        containers_of(&tooled),
        1,
        "a RUN with mounts is read through a container of its image"
    );
    drop(state);
    let gathered = engine.image(&gather).expect("gather image");
    for (stage, image) in [("made", &made), ("tooled", &tooled)] {
        let source = engine.image(image).expect("stage image");
        let copied: Vec<_> = gathered
            .files
            .iter()
            .filter_map(|(path, node)| {
                path.strip_prefix(&format!("/in/{stage}"))
                    .filter(|rest| !rest.is_empty())
                    .map(|rest| (format!("/ran{rest}"), node.0.clone()))
            })
            .collect();
        assert!(!copied.is_empty(), "{stage}: nothing copied");
        for (path, node) in copied {
            assert_eq!(source.files[&path].0, node, "{stage}: {path}");
        }
    }
}
