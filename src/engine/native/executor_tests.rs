//! Step execution against the in-memory Engine: what is created, run,
//! committed, cached and cleaned up.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::build::{BuildOptions, NativeBuild, StageFailure, StageOutput, run_build};
use super::cache_key::BUILD_LABEL;
use super::copy::NoFilter;
use super::engine_api::{ImageSettings, MountSpec};
use super::fake_engine::{FakeEngine, Node};
use super::observer::Silent;
use super::scheduler::{Outcome, ScheduleOptions};
use super::stage_plan::stage_plan;
use crate::diagnostics::SourceFile;
use crate::graph::ProjectGraph;

const PROJECT: &str = r#"
[project]
context = "."

[args]
BASE = "busybox:test"

[stages.build]
from = "${BASE}"
workdir = "/src"
args = { VERSION = "1.0" }
env = { MODE = "release" }
steps = [
  { copy = ["main.c", "lib/"], to = "./" },
  { run = "cc -o /out/app main.c" },
]

[artifacts.app]
stage = "build"
path = "/src/main.c"

[stages.runtime]
from = "scratch"
steps = [
  { artifact = "app", to = "/app/", chown = "10:20" },
]
entrypoint = ["/app/main.c"]
expose = ["8080"]
labels = { "org.example.mode" = "fast" }

[stages.tools]
from = "busybox:test"
steps = [
  { run = "echo tools", mounts = [
      { type = "cache", target = "/root/.cache", sharing = "locked" },
      { type = "secret", id = "token", target = "/run/secrets/token" },
  ] },
]

[stages.gather]
from = "busybox:test"
steps = [
  { artifact = "app", to = "/in/a/" },
  { env = { STEP = "two" } },
  { copy = "lib/", to = "/in/lib/" },
  { artifact = "app", to = "/in/b/" },
]
cmd = ["cat", "/in/a/main.c"]

[stages.broken]
from = "busybox:test"
steps = [{ run = "echo first" }, { run = "fail now" }]
"#;

fn engine() -> Arc<FakeEngine> {
    Arc::new(FakeEngine::with_image(
        "busybox:test",
        &[
            ("/bin/sh", "#!"),
            ("/etc/passwd", "root:x:0:0::/:/bin/sh\n"),
        ],
        ImageSettings {
            env: vec![("PATH".into(), "/bin".into())],
            cmd: Some(vec!["sh".into()]),
            ..ImageSettings::default()
        },
    ))
}

fn context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.c"), "int main;").unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/util.h"), "#pragma once").unwrap();
    std::fs::write(dir.path().join("token"), "s3cret").unwrap();
    dir
}

async fn build(
    engine: &Arc<FakeEngine>,
    context: &Path,
    roots: &[&str],
    tweak: impl FnOnce(&mut BuildOptions),
) -> BTreeMap<String, Outcome<StageOutput, StageFailure>> {
    build_sharing(engine, context, roots, tweak, BTreeMap::new()).await
}

/// `build`, handed the results of stages built before in the same build.
async fn build_sharing(
    engine: &Arc<FakeEngine>,
    context: &Path,
    roots: &[&str],
    tweak: impl FnOnce(&mut BuildOptions),
    built_before: BTreeMap<String, StageOutput>,
) -> BTreeMap<String, Outcome<StageOutput, StageFailure>> {
    let outcome = crate::check::check(&SourceFile::new("stages.toml", PROJECT));
    let project = outcome
        .project
        .unwrap_or_else(|| panic!("{:?}", outcome.diagnostics));
    let roots: Vec<String> = roots.iter().map(|s| s.to_string()).collect();
    let (stages, deps) = stage_plan(&ProjectGraph::new(&project), &roots);
    let mut options = BuildOptions {
        build_id: "build-1".into(),
        project_id: "0123456789abcdef".into(),
        context_dir: context.to_path_buf(),
        secrets: BTreeMap::from([("token".into(), context.join("token"))]),
        ..BuildOptions::default()
    };
    tweak(&mut options);
    let native = NativeBuild::new(
        Arc::clone(engine),
        Arc::new(project),
        stages.clone(),
        options,
        Arc::new(NoFilter),
        Arc::new(Silent),
    )
    .unwrap()
    .sharing(built_before);
    let outcomes = run_build(Arc::new(native), &deps, ScheduleOptions::new(Some(2), true)).await;
    stages.into_iter().zip(outcomes).collect()
}

fn done(
    outcomes: &BTreeMap<String, Outcome<StageOutput, StageFailure>>,
    stage: &str,
) -> StageOutput {
    match &outcomes[stage] {
        Outcome::Done(output) => output.clone(),
        other => panic!("{stage}: {other:?}"),
    }
}

#[tokio::test]
async fn stages_run_their_steps_and_commit_the_configuration() {
    let engine = engine();
    let ctx = context();
    let outcomes = build(&engine, ctx.path(), &["runtime", "tools"], |_| {}).await;
    let runtime = done(&outcomes, "runtime");
    let image = engine.image(&runtime.image).unwrap();
    assert_eq!(
        image.files["/app/main.c"].0,
        Node::File(b"int main;".to_vec())
    );
    assert_eq!(
        (image.files["/app/main.c"].2, image.files["/app/main.c"].3),
        (10, 20)
    );
    assert!(!image.files.contains_key("/bin/sh"), "scratch starts empty");
    assert_eq!(
        image.settings.entrypoint,
        Some(vec!["/app/main.c".to_owned()])
    );
    assert!(image.settings.exposed_ports.contains("8080/tcp"));
    assert_eq!(image.settings.labels["org.example.mode"], "fast");

    let build_image = engine.image(&done(&outcomes, "build").image).unwrap();
    assert!(build_image.files.contains_key("/src/main.c"));
    assert!(
        build_image.files.contains_key("/src/util.h"),
        "a directory's contents are copied"
    );
    assert_eq!(build_image.settings.workdir, "/src");
    assert_eq!(
        build_image.settings.env,
        [
            ("PATH".to_owned(), "/bin".to_owned()),
            ("MODE".to_owned(), "release".to_owned())
        ],
        "the build arg stays out of the image"
    );

    let state = engine.lock();
    let run = state
        .created
        .iter()
        .find(|spec| {
            spec.entrypoint
                .iter()
                .flatten()
                .any(|w| w.contains("cc -o"))
        })
        .unwrap();
    assert_eq!(
        run.entrypoint.as_deref().unwrap(),
        [
            "/bin/sh",
            "-c",
            "export VERSION='1.0'\ncc -o /out/app main.c"
        ]
    );
    assert_eq!(run.cmd, None);
    assert_eq!(run.env, ["PATH=/bin", "MODE=release"]);
    assert_eq!(run.workdir.as_deref(), Some("/src"));

    let tools = state
        .created
        .iter()
        .find(|spec| {
            spec.entrypoint
                .iter()
                .flatten()
                .any(|w| w.contains("echo tools"))
        })
        .unwrap();
    assert!(
        matches!(&tools.mounts[0], MountSpec::Volume { target, .. } if target == "/root/.cache")
    );
    assert!(
        matches!(&tools.mounts[1], MountSpec::Bind { target, readonly: true, .. } if target == "/run/secrets/token")
    );
    assert_eq!(state.volumes.len(), 1);

    assert!(
        state
            .created
            .iter()
            .all(|spec| spec.labels[BUILD_LABEL] == "build-1")
    );
    assert!(state.containers.is_empty(), "every container is removed");
}

#[tokio::test]
async fn copies_up_to_the_end_share_one_commit_with_the_configuration() {
    let engine = engine();
    let ctx = context();
    build(&engine, ctx.path(), &["build"], |_| {}).await;
    let commits = engine.lock().commits;
    let outcomes = build(&engine, ctx.path(), &["gather"], |_| {}).await;
    assert_eq!(
        engine.lock().commits,
        commits + 1,
        "three copies, one commit"
    );
    let image = engine.image(&done(&outcomes, "gather").image).unwrap();
    for path in ["/in/a/main.c", "/in/lib/util.h", "/in/b/main.c"] {
        assert!(image.files.contains_key(path), "{path}");
    }
    assert!(image.settings.env.contains(&("STEP".into(), "two".into())));
    assert_eq!(
        image.settings.cmd,
        Some(vec!["cat".to_owned(), "/in/a/main.c".to_owned()])
    );
    assert!(engine.lock().containers.is_empty());

    let again = build(&engine, ctx.path(), &["gather"], |_| {}).await;
    assert_eq!(engine.lock().commits, commits + 1, "found with one look-up");
    assert_eq!(
        done(&again, "gather").image,
        done(&outcomes, "gather").image
    );
}

#[tokio::test]
async fn a_stage_an_earlier_target_built_is_handed_on_not_built_again() {
    let engine = engine();
    let ctx = context();
    let no_cache = |o: &mut BuildOptions| o.no_cache = true;
    let first = build(&engine, ctx.path(), &["build"], no_cache).await;
    let started = engine.lock().started;
    let shared = BTreeMap::from([("build".to_owned(), done(&first, "build"))]);
    let second = build_sharing(&engine, ctx.path(), &["runtime"], no_cache, shared).await;
    assert_eq!(
        engine.lock().started,
        started,
        "the build stage's RUN ran again"
    );
    assert_eq!(done(&second, "build"), done(&first, "build"));
    let runtime = engine.image(&done(&second, "runtime").image).unwrap();
    assert!(runtime.files.contains_key("/app/main.c"));
}

#[tokio::test]
async fn scratch_is_the_imported_empty_image_never_one_built_on_it() {
    let engine = engine();
    let ctx = context();
    let first = build(&engine, ctx.path(), &["runtime"], |_| {}).await;
    let runtime = done(&first, "runtime").image;
    {
        // Built from scratch, the image kept scratch's label; make it look
        // older than scratch, as a tie in the Engine's seconds can.
        let mut state = engine.lock();
        let image = state.images.get_mut(&runtime).unwrap();
        assert_eq!(
            image
                .settings
                .labels
                .get(super::build::SCRATCH_LABEL)
                .map(String::as_str),
            Some("1")
        );
        image.created = -1;
        let file = image.files["/app/main.c"].clone();
        image.files.insert("/poison".into(), file);
    }
    let again = build(&engine, ctx.path(), &["runtime"], |o| o.no_cache = true).await;
    let image = engine.image(&done(&again, "runtime").image).unwrap();
    let paths: Vec<&String> = image.files.keys().collect();
    assert!(
        !paths.iter().any(|p| p.as_str() == "/poison"),
        "scratch must start empty: {paths:?}"
    );
}

#[tokio::test]
async fn a_warm_rebuild_runs_no_container_and_gives_the_same_images() {
    let engine = engine();
    let ctx = context();
    let first = build(&engine, ctx.path(), &["runtime", "tools"], |_| {}).await;
    let started = engine.lock().started;
    let commits = engine.lock().commits;
    let second = build(&engine, ctx.path(), &["runtime", "tools"], |_| {}).await;
    assert_eq!(engine.lock().started, started, "no RUN again");
    assert_eq!(engine.lock().commits, commits, "no commit again");
    for stage in ["build", "runtime", "tools"] {
        assert_eq!(
            done(&first, stage).image,
            done(&second, stage).image,
            "{stage}"
        );
    }

    build(&engine, ctx.path(), &["tools"], |o| o.no_cache = true).await;
    assert_eq!(engine.lock().started, started + 1, "--no-cache runs again");
}

#[tokio::test]
async fn the_cache_is_the_projects_own_and_its_images_are_tagged() {
    let engine = engine();
    let ctx = context();
    build(&engine, ctx.path(), &["tools"], |_| {}).await;
    let started = engine.lock().started;
    let tagged: Vec<String> = engine.lock().tags.keys().cloned().collect();
    assert!(
        tagged
            .iter()
            .any(|t| t.starts_with("stages-cache/0123456789abcdef:")),
        "{tagged:?}"
    );
    // The same steps in another project run again: nothing is shared.
    build(&engine, ctx.path(), &["tools"], |o| {
        o.project_id = "fedcba9876543210".into();
    })
    .await;
    assert_eq!(engine.lock().started, started + 1);
    // An entry whose cache tag was removed (pruned) is no entry.
    let mine: Vec<String> = engine
        .lock()
        .tags
        .keys()
        .filter(|t| t.starts_with("stages-cache/0123456789abcdef:"))
        .cloned()
        .collect();
    for tag in mine {
        engine.lock().tags.remove(&tag);
    }
    build(&engine, ctx.path(), &["tools"], |_| {}).await;
    assert_eq!(engine.lock().started, started + 2);
    // Images never carry a build's id: a container made from one later
    // is nobody's build container.
    for image in engine.lock().images.values() {
        if let Some(value) = image.settings.labels.get(BUILD_LABEL) {
            assert_eq!(value, "", "{:?}", image.settings.labels);
        }
    }
}

#[tokio::test]
async fn a_changed_input_reruns_its_step_and_the_steps_after_it() {
    let engine = engine();
    let ctx = context();
    build(&engine, ctx.path(), &["runtime"], |_| {}).await;
    let started = engine.lock().started;
    std::fs::write(ctx.path().join("main.c"), "int main(void);").unwrap();
    let outcomes = build(&engine, ctx.path(), &["runtime"], |_| {}).await;
    assert_eq!(
        engine.lock().started,
        started + 1,
        "the RUN after the COPY runs again"
    );
    let image = engine.image(&done(&outcomes, "runtime").image).unwrap();
    assert_eq!(
        image.files["/app/main.c"].0,
        Node::File(b"int main(void);".to_vec())
    );

    let started = engine.lock().started;
    build(&engine, ctx.path(), &["runtime"], |o| {
        o.overrides.insert("VERSION".into(), "2.0".into());
    })
    .await;
    assert_eq!(
        engine.lock().started,
        started + 1,
        "a build arg the RUN sees changes its key"
    );
}

#[tokio::test]
async fn a_failing_run_reports_its_step_and_output_and_leaves_nothing() {
    let engine = engine();
    let ctx = context();
    let outcomes = build(&engine, ctx.path(), &["broken", "tools"], |_| {}).await;
    let Outcome::Failed(failure) = &outcomes["broken"] else {
        panic!("{:?}", outcomes["broken"]);
    };
    assert_eq!(failure.step.as_deref(), Some("RUN fail now"));
    assert!(
        failure.message.contains("exited with code 1"),
        "{}",
        failure.message
    );
    assert!(failure.message.contains("running:"), "{}", failure.message);
    assert!(failure.span.is_some());
    assert!(
        outcomes["tools"].is_done(),
        "keep-going lets independent stages finish"
    );
    assert!(engine.lock().containers.is_empty());
}

#[tokio::test]
async fn a_missing_base_image_is_a_clear_failure() {
    let engine = Arc::new(FakeEngine::default());
    let ctx = context();
    let outcomes = build(&engine, ctx.path(), &["tools"], |_| {}).await;
    let Outcome::Failed(failure) = &outcomes["tools"] else {
        panic!("{:?}", outcomes["tools"]);
    };
    assert!(
        failure
            .message
            .contains("busybox:test is not on the Engine"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn no_cache_filter_reruns_only_the_named_stages() {
    let engine = engine();
    let ctx = context();
    build(&engine, ctx.path(), &["runtime", "tools"], |_| {}).await;
    let started = engine.lock().started;
    build(&engine, ctx.path(), &["runtime", "tools"], |o| {
        o.no_cache_stages.insert("tools".into());
    })
    .await;
    assert_eq!(
        engine.lock().started,
        started + 1,
        "only the tools RUN runs again"
    );
}
