//! Ctrl-C during a native build: exit 130, no container left, no tag
//! moved, the output directory as it was. FAILS when the Engine is
//! unreachable.

mod engine_support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use engine_support::{Project, containers_labelled, engine, image_exists, stages, unique};

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
    let mut child = stages()
        .current_dir(project.path())
        .args([
            "build",
            "--backend",
            "native",
            "--progress",
            "plain",
            "--no-cache",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn stages");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("the build ended early").expect("read");
        seen.push(line.clone());
        if ready(&line) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{seen:?}");
    }
    if expect_running {
        assert!(
            !containers_labelled("dev.stages.test", &marker).is_empty(),
            "the slow step should be running in a container"
        );
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().expect("wait");
    assert_eq!(exit.code(), Some(130), "{seen:?}\n{rest:?}");
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
