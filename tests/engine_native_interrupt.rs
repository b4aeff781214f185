//! Ctrl-C during a native build: exit 130, no container left, no tag
//! moved, the output directory as it was. FAILS when the Engine is
//! unreachable.

mod engine_support;

use engine_support::{Project, containers_labelled, engine, image_exists, interrupt_build, unique};

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_native_build_and_removes_its_containers() {
    // Interrupted while the slow step runs.
    interrupt_native_when(|line| line == "[slow] slow-step-42", true);
}

#[cfg(unix)]
#[test]
fn ctrl_c_as_a_native_step_starts_still_leaves_no_container() {
    interrupt_native_when(
        |line| line.starts_with("[slow] step") && line.contains("RUN"),
        false,
    );
}

#[cfg(unix)]
fn interrupt_native_when(ready: impl Fn(&str) -> bool, expect_running: bool) {
    engine();
    let marker = unique("interrupt");
    let tag = format!("{marker}:v1");
    // The slow step runs in a container that inherits the marker label
    // from its base stage, so a leftover container can be found.
    let project = Project::new(&format!(
        r#"[stages.base]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{marker}" }}

[stages.slow]
from = {{ stage = "base" }}
steps = [{{ run = "echo slow-step-$((40 + 2)); sleep 120; echo finished" }}]

[targets.slow]
stage = "slow"
tags = ["{tag}"]
"#
    ))
    .file("dist/keep.txt", "kept");
    let run = interrupt_build(
        project.path(),
        &["--backend", "native", "--no-cache"],
        ready,
        || {
            if expect_running {
                assert!(
                    !containers_labelled("dev.stages.test", &marker).is_empty(),
                    "the slow step should be running in a container"
                );
            }
        },
    );
    let (seen, rest) = (&run.seen, &run.rest);
    assert_eq!(run.code, Some(130), "{seen:?}\n{rest:?}");
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    assert!(
        containers_labelled("dev.stages.test", &marker).is_empty(),
        "containers left behind"
    );
    assert!(!image_exists(&tag), "a tag was set by an interrupted build");
    assert_eq!(
        std::fs::read_to_string(project.path().join("dist/keep.txt")).expect("kept"),
        "kept"
    );
}
