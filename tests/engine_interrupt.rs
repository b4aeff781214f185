//! Ctrl-C during a build, with either back end: exit 130, no container
//! left, no tag moved, the output directory as it was. A build killed
//! outright leaves its container and staging directory, which the next
//! build removes, leaving a running build's alone. FAILS when the Engine
//! is unreachable.

mod engine_support;

use engine_support::{
    Project, containers_labelled, engine, image_exists, interrupt_build, stages, start_build,
    unique,
};

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_build_and_removes_its_containers() {
    // Interrupted while the slow step runs.
    interrupt_when("dockerfile", |line| line == "[slow] slow-step-42", true);
}

#[cfg(unix)]
#[test]
fn ctrl_c_as_a_step_starts_still_removes_the_container_being_created() {
    // Interrupted between the step's announcement and its container's id.
    interrupt_when("dockerfile", starting_run, false);
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_native_build_and_removes_its_containers() {
    interrupt_when("native", |line| line == "[slow] slow-step-42", true);
}

#[cfg(unix)]
#[test]
fn ctrl_c_as_a_native_step_starts_still_leaves_no_container() {
    interrupt_when("native", starting_run, false);
}

#[cfg(unix)]
fn starting_run(line: &str) -> bool {
    line.starts_with("[slow] step") && line.contains("RUN")
}

#[cfg(unix)]
fn interrupt_when(backend: &str, ready: impl Fn(&str) -> bool, expect_running: bool) {
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
        &["--backend", backend, "--no-cache"],
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
        !rest.iter().any(|l| l.ends_with("] failed")),
        "an interrupted build says interrupted only: {rest:?}"
    );
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

/// Targets are published together at the end: an artifact target built
/// before the interrupted one has not written its output directory yet.
#[cfg(unix)]
#[test]
fn ctrl_c_after_an_artifact_target_leaves_its_output_directory_as_it_was() {
    engine();
    let marker = unique("interrupt-out");
    let tag = format!("{marker}:v1");
    let project = Project::new(&format!(
        r#"[stages.base]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{marker}" }}
steps = [{{ run = "mkdir -p /out && echo new > /out/app" }}]

[artifacts.app]
stage = "base"
path = "/out/app"

[stages.slow]
from = {{ stage = "base" }}
steps = [{{ run = "echo slow-step-$((40 + 2)); sleep 120; echo finished" }}]

[targets.files]
artifacts = ["app"]
output = "dist/"

[targets.slow]
stage = "slow"
tags = ["{tag}"]
"#
    ))
    .file("dist/keep.txt", "kept");
    let run = interrupt_build(
        project.path(),
        &["files", "slow", "--no-cache"],
        |line| line == "[slow] slow-step-42",
        || {},
    );
    let (seen, rest) = (&run.seen, &run.rest);
    assert_eq!(run.code, Some(130), "{seen:?}\n{rest:?}");
    assert!(
        containers_labelled("dev.stages.test", &marker).is_empty(),
        "containers left behind"
    );
    assert!(!image_exists(&tag), "a tag was set by an interrupted build");
    let entries: Vec<String> = std::fs::read_dir(project.path().join("dist"))
        .expect("dist")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["keep.txt"], "the output directory changed");
    let parent: Vec<String> = std::fs::read_dir(project.path())
        .expect("project")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".stages-export-"))
        .collect();
    assert!(parent.is_empty(), "staging directories left: {parent:?}");
}

/// SIGKILL gives a build no chance to clean up: its container and its
/// artifact staging directory stay until the next build of the project,
/// which removes them — and leaves alone the container of a build of the
/// same project that is still running.
#[cfg(unix)]
#[test]
fn the_next_build_removes_what_a_killed_build_left_but_not_a_running_builds() {
    engine();
    let killed = unique("killed");
    let running = unique("running");
    let project = Project::new(&format!(
        r#"[stages.base-killed]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{killed}" }}

[stages.base-running]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{running}" }}

[stages.slow-killed]
from = {{ stage = "base-killed" }}
steps = [{{ run = "mkdir -p /out && echo x > /out/app && echo slow-killed-$((40 + 2)); sleep 120" }}]

[stages.slow-running]
from = {{ stage = "base-running" }}
steps = [{{ run = "echo slow-running-$((40 + 2)); sleep 120" }}]

[stages.quick]
from = "busybox:stages-test"

[artifacts.app]
stage = "slow-killed"
path = "/out/app"

[targets.files]
artifacts = ["app"]
output = "dist/"
"#
    ));
    let staging_dirs = || -> Vec<String> {
        std::fs::read_dir(project.path())
            .expect("project")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".stages-export-"))
            .collect()
    };
    let alive = start_build(project.path(), &["slow-running", "--no-cache"], |line| {
        line == "[slow-running] slow-running-42"
    });
    let doomed = start_build(project.path(), &["files", "--no-cache"], |line| {
        line == "[slow-killed] slow-killed-42"
    });
    let (code, _) = doomed.signal("KILL");
    assert_eq!(code, None, "killed by a signal");
    assert!(
        !containers_labelled("dev.stages.test", &killed).is_empty(),
        "a killed build cannot remove its container"
    );
    assert_eq!(staging_dirs().len(), 1, "nor its staging directory");

    let next = stages()
        .current_dir(project.path())
        .args(["build", "quick", "--progress", "plain"])
        .output()
        .expect("run stages");
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert!(next.status.success(), "{stderr}");
    assert!(
        stderr.contains("removed 1 container and 1 staging directory left by 1 dead build"),
        "{stderr}"
    );
    assert!(
        containers_labelled("dev.stages.test", &killed).is_empty(),
        "the killed build's container is still there"
    );
    assert!(staging_dirs().is_empty(), "{:?}", staging_dirs());
    assert!(
        !containers_labelled("dev.stages.test", &running).is_empty(),
        "the running build's container was removed"
    );

    // `cache prune` says what it removed: nothing more is left.
    let pruned = stages()
        .current_dir(project.path())
        .args(["cache", "prune"])
        .output()
        .expect("cache prune");
    let stdout = String::from_utf8_lossy(&pruned.stdout);
    assert!(
        stdout.contains("removed 0 containers and 0 staging directories left by 0 dead builds"),
        "{stdout}"
    );
    assert!(!containers_labelled("dev.stages.test", &running).is_empty());
    let (code, _) = alive.signal("INT");
    assert_eq!(code, Some(130));
    assert!(containers_labelled("dev.stages.test", &running).is_empty());
}

/// `cache prune` removes a killed build's leftovers too, and says so.
#[cfg(unix)]
#[test]
fn cache_prune_reports_what_a_killed_build_left() {
    engine();
    let marker = unique("pruned-leftover");
    let project = Project::new(&format!(
        r#"[stages.base]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{marker}" }}

[stages.slow]
from = {{ stage = "base" }}
steps = [{{ run = "echo slow-step-$((40 + 2)); sleep 120" }}]
"#
    ));
    let doomed = start_build(project.path(), &["slow", "--no-cache"], |line| {
        line == "[slow] slow-step-42"
    });
    doomed.signal("KILL");
    assert!(!containers_labelled("dev.stages.test", &marker).is_empty());
    let pruned = stages()
        .current_dir(project.path())
        .args(["cache", "prune"])
        .output()
        .expect("cache prune");
    let stdout = String::from_utf8_lossy(&pruned.stdout);
    assert!(
        stdout.contains("removed 1 container and 0 staging directories left by 1 dead build"),
        "{stdout}"
    );
    assert!(containers_labelled("dev.stages.test", &marker).is_empty());
}

/// Ctrl-C during a RUN that BuildKit executes: the solve is cancelled (the
/// step never finishes, so a later build runs it again rather than finding
/// it in BuildKit's cache), exit 130, no tag moved, the output directory
/// untouched and no staging directory left. BuildKit runs steps in its own
/// containers, never the Engine's: none may appear either.
#[cfg(unix)]
#[test]
fn ctrl_c_cancels_a_buildkit_solve_and_publishes_nothing() {
    use std::time::{Duration, Instant};

    engine();
    let marker = unique("interrupt-bk");
    let tag = format!("{marker}:v1");
    let project = Project::new(&format!(
        r#"[stages.base]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{marker}" }}

[stages.slow]
from = {{ stage = "base" }}
steps = [{{ run = "mkdir -p /out && echo {marker} > /out/app && echo slow-step-$((40 + 2)); sleep 6; echo finished" }}]

[artifacts.app]
stage = "slow"
path = "/out/app"

[targets.slow]
stage = "slow"
tags = ["{tag}"]

[targets.files]
artifacts = ["app"]
output = "dist/"
"#
    ))
    .file("dist/keep.txt", "kept");
    let ready = |line: &str| line == "[slow] slow-step-42";
    let run = interrupt_build(
        project.path(),
        &["--backend", "buildkit", "slow", "files"],
        ready,
        || {},
    );
    let interrupted_at = Instant::now();
    let (seen, rest) = (&run.seen, &run.rest);
    assert_eq!(run.code, Some(130), "{seen:?}\n{rest:?}");
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    assert!(
        !rest
            .iter()
            .any(|l| l.ends_with("] failed") || l.contains("finished")),
        "an interrupted build says interrupted only: {rest:?}"
    );
    assert!(!image_exists(&tag), "a tag was set by an interrupted build");
    assert!(containers_labelled("dev.stages.test", &marker).is_empty());
    let entries: Vec<String> = std::fs::read_dir(project.path().join("dist"))
        .expect("dist")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["keep.txt"], "the output directory changed");
    let staging: Vec<String> = std::fs::read_dir(project.path())
        .expect("project")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".stages-"))
        .collect();
    assert!(staging.is_empty(), "staging directories left: {staging:?}");

    // Had the solve gone on, the step would be done (and cached) by now.
    std::thread::sleep(Duration::from_secs(8).saturating_sub(interrupted_at.elapsed()));
    let again = stages()
        .current_dir(project.path())
        .args([
            "build",
            "--backend",
            "buildkit",
            "--progress",
            "plain",
            "slow",
        ])
        .output()
        .expect("run stages");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        stderr.lines().any(ready),
        "the interrupted step was not run again: the solve went on after Ctrl-C\n{stderr}"
    );
    assert!(image_exists(&tag));
    let removed = std::process::Command::new("docker")
        .args(["image", "rm", &tag])
        .output()
        .expect("docker image rm");
    assert!(removed.status.success());
}
