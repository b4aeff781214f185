//! A FROM whose variable names a stage (`FROM base-${FLAVOR:-cpu}`): read
//! as BuildKit reads it — the global args expanded (defaults, or the
//! build's values), then matched against the earlier stages — by import,
//! outline, plan, graph and both back ends on the real Engine; and the
//! warning for a `--build-arg` no ARG declares.

mod engine_support;

use engine_support::{BASE_IMAGE, Run, engine, files, image_exists, remove_images, stages, unique};

const DOCKERFILE: &str = "\
ARG FLAVOR
FROM busybox:stages-test AS base-cpu
RUN echo cpu > /flavor
FROM busybox:stages-test AS base-gpu
RUN echo gpu > /flavor
FROM base-${FLAVOR:-cpu} AS final
RUN cat /flavor > /seen
";

fn project(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("stages.toml"), text).expect("write stages.toml");
    dir
}

fn run(dir: &std::path::Path, args: &[&str]) -> Run {
    Run::from(
        stages()
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run stages"),
    )
}

fn flavours(tags: (&str, &str)) -> String {
    format!(
        r#"[args]
FLAVOR = {{}}

[stages.base-cpu]
from = "busybox:stages-test"
steps = [{{ run = "echo cpu > /flavor" }}]

[stages.base-gpu]
from = "busybox:stages-test"
steps = [{{ run = "echo gpu > /flavor" }}]

[stages.final]
from = "base-${{FLAVOR:-cpu}}"
steps = [{{ run = "cat /flavor > /seen" }}]

[targets.app]
stage = "final"
tags = ["{}"]

[targets.app-gpu]
stage = "final"
tags = ["{}"]
args = {{ FLAVOR = "gpu" }}
"#,
        tags.0, tags.1
    )
}

#[test]
fn import_keeps_a_from_a_build_arg_can_change_and_names_the_stage_otherwise() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).expect("write");
    let imported = run(dir.path(), &["import", "Dockerfile", "-o", "-"]).success();
    assert!(
        imported.stdout.contains("from = \"base-${FLAVOR:-cpu}\""),
        "{}",
        imported.describe()
    );
    std::fs::write(dir.path().join("stages.toml"), &imported.stdout).expect("write");
    let checked = run(dir.path(), &["check"]).success();
    assert!(
        !checked
            .flat_stderr()
            .contains("stage `base-cpu` is never built"),
        "{}",
        checked.describe()
    );
    let plan = run(dir.path(), &["plan", "final"]).success();
    assert!(plan.stdout.contains("1: base-cpu"), "{}", plan.describe());

    // Nothing can set FLAVOR when no ARG declares it: the default always applies.
    let fixed = DOCKERFILE.replace("ARG FLAVOR\n", "");
    std::fs::write(dir.path().join("Dockerfile"), fixed).expect("write");
    let imported = run(dir.path(), &["import", "Dockerfile", "-o", "-"]).success();
    assert!(
        imported.stdout.contains("from = { stage = \"base-cpu\" }"),
        "{}",
        imported.describe()
    );
}

#[test]
fn outline_matches_the_expanded_base_against_the_stages() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Dockerfile"), DOCKERFILE).expect("write");
    let outline = |extra: &[&str]| {
        let mut args = vec![
            "dockerfile",
            "outline",
            "Dockerfile",
            "--target",
            "final",
            "--format",
            "json",
        ];
        args.extend(extra);
        let out = run(dir.path(), &args).success();
        serde_json::from_str::<serde_json::Value>(&out.stdout).expect("json")
    };
    let json = outline(&[]);
    assert_eq!(json["stages"][2]["base_stage"], 0);
    assert_eq!(json["target"]["needs"], serde_json::json!([0, 2]));
    let json = outline(&["--build-arg", "FLAVOR=gpu"]);
    assert_eq!(json["stages"][2]["base_stage"], 1);
    assert_eq!(json["target"]["needs"], serde_json::json!([1, 2]));
    let text = run(dir.path(), &["dockerfile", "outline", "Dockerfile"]).success();
    assert!(
        text.stdout
            .contains("stage 2 final FROM base-${FLAVOR:-cpu} (stage base-cpu)"),
        "{}",
        text.describe()
    );
}

#[test]
fn plan_and_graph_follow_the_build_args() {
    let dir = project(&flavours(("a:1", "b:1")));
    let plan = run(dir.path(), &["plan", "app"]).success();
    assert!(plan.stdout.contains("1: base-cpu"), "{}", plan.describe());
    assert!(
        plan.stdout.contains("pruned: base-gpu"),
        "{}",
        plan.describe()
    );
    assert!(
        !plan.stdout.contains("base-${FLAVOR"),
        "{}",
        plan.describe()
    );
    let plan = run(dir.path(), &["plan", "app", "--build-arg", "FLAVOR=gpu"]).success();
    assert!(plan.stdout.contains("1: base-gpu"), "{}", plan.describe());
    assert!(
        plan.stdout.contains("pruned: base-cpu"),
        "{}",
        plan.describe()
    );
    // A value that names no stage names an image, as in BuildKit.
    let plan = run(dir.path(), &["plan", "app", "--build-arg", "FLAVOR=tpu"]).success();
    assert!(
        plan.stdout.contains("images:\n  base-tpu\n"),
        "{}",
        plan.describe()
    );

    let graph = run(dir.path(), &["graph", "app"]).success();
    assert!(graph.stdout.contains("base-cpu"), "{}", graph.describe());
    assert!(!graph.stdout.contains("base-gpu"), "{}", graph.describe());
    let graph = run(dir.path(), &["graph", "app", "--build-arg", "FLAVOR=gpu"]).success();
    assert!(graph.stdout.contains("base-gpu"), "{}", graph.describe());
}

#[test]
fn an_undeclared_build_arg_is_a_warning_with_the_closest_name() {
    let dir = project(&flavours(("a:1", "b:1")));
    let plan = run(dir.path(), &["plan", "app", "--build-arg", "FLAVR=gpu"]).success();
    insta::assert_snapshot!(plan.stderr, @"warning: --build-arg FLAVR is not consumed: no ARG of the stages built declares it (did you mean `FLAVOR`?)
");
    let plan = run(dir.path(), &["plan", "app", "--build-arg", "FLAVOR=gpu"]).success();
    assert_eq!(plan.stderr, "");
}

fn built_flavours(backend: &str) {
    engine_with_base_image();
    let cpu = format!("{}:1", unique("stages-from-variable"));
    let gpu = format!("{}:1", unique("stages-from-variable"));
    let dir = project(&flavours((&cpu, &gpu)));
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "--backend", backend, "--progress", "plain"];
        args.extend(extra);
        run(dir.path(), &args).success()
    };
    let seen = |tag: &str| files(tag, "/seen")["seen"].text();

    // One build, two targets: each reads its own args.
    build(&["app", "app-gpu"]);
    assert_eq!(seen(&cpu), "cpu\n");
    assert_eq!(seen(&gpu), "gpu\n");

    let out = build(&["app", "--build-arg", "FLAVOR=gpu"]);
    assert_eq!(seen(&cpu), "gpu\n", "{}", out.describe());

    let out = build(&["app", "--build-arg", "FLAVR=gpu"]);
    assert!(
        out.flat_stderr()
            .contains("--build-arg FLAVR is not consumed: no ARG of the stages built declares it (did you mean `FLAVOR`?)"),
        "{}",
        out.describe()
    );
    assert_eq!(seen(&cpu), "cpu\n");
    if backend == "native" {
        let _ = stages()
            .current_dir(dir.path())
            .args(["cache", "prune"])
            .output();
    }
    remove_images(&[&cpu, &gpu]);
}

#[test]
fn the_native_back_end_builds_the_stage_the_variable_names() {
    built_flavours("native");
}

#[test]
fn the_dockerfile_back_end_builds_the_stage_the_variable_names() {
    built_flavours("dockerfile");
}

/// The Engine with the one base image these tests use; `engine()` (which
/// makes every base image, waiting for any other test run doing so) only
/// when it is missing.
fn engine_with_base_image() {
    if !image_exists(BASE_IMAGE) {
        engine();
    }
}
