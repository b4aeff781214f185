//! One `stages build` of several targets, with each back end that builds
//! on the Engine (BuildKit too, though it solves each target in a request
//! of its own): a stage two targets need is built once and both get its
//! result (the image and the exported files hold the same bytes, even
//! from a step that writes random ones); a target's image carries exactly
//! the labels the user asked for, so an unchanged input (a warm rebuild,
//! a comment added to stages.toml) gives the same image and moves no tag.
//! Runs against the real Engine; FAILS when it is unreachable.

mod engine_support;

use engine_support::{Project, Run, engine, files, inspect, remove_images, stages, unique};

fn manifest(tag: &str) -> String {
    format!(
        r#"
[stages.builder]
from = "busybox:stages-test"
steps = [
  {{ run = "mkdir -p /out && head -c 32 /dev/urandom | od -An -tx1 > /out/id" }},
]

[artifacts.id]
stage = "builder"
path = "/out/id"

[stages.app]
from = "busybox:stages-test"
steps = [{{ artifact = "id", to = "/id" }}]
cmd = ["cat", "/id"]
labels = {{ "org.example.stage" = "app" }}

[targets.image]
stage = "app"
tags = ["{tag}"]
labels = {{ "org.example.target" = "yes" }}

[targets.dist]
artifacts = ["id"]
output = "dist/"
"#
    )
}

fn image_id(tag: &str) -> String {
    inspect(tag).id.expect("image id")
}

fn shares_one_build_of_each_stage(backend: &str) {
    engine();
    let tag = format!("{}:{backend}", unique("stages-shared"));
    let (manifest, cold) = if backend == "buildkit" {
        // BuildKit solves each target in a request of its own, and
        // `--no-cache` would solve the shared stage again in each: a step
        // no earlier build ran makes the build cold instead.
        let marker = format!("echo {} && mkdir -p /out &&", unique("cold"));
        (manifest(&tag).replace("mkdir -p /out &&", &marker), None)
    } else {
        (manifest(&tag), Some("--no-cache"))
    };
    let project = Project::new(&manifest);
    let mut first = vec!["image", "dist"];
    first.extend(cold);
    project.build_on(backend, &first).success();

    let exported = std::fs::read(project.path().join("dist/id")).expect("exported id");
    let in_image = files(&tag, "/id")["id"].contents.clone();
    assert!(!exported.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&in_image),
        String::from_utf8_lossy(&exported),
        "the image and the artifact come from two builds of the builder stage"
    );

    let labels = inspect(&tag).config.and_then(|c| c.labels);
    let expected = [
        ("org.example.stage".to_owned(), "app".to_owned()),
        ("org.example.target".to_owned(), "yes".to_owned()),
    ]
    .into_iter()
    .collect();
    assert_eq!(labels, Some(expected), "exactly the user's labels");

    let first = image_id(&tag);
    project.build_on(backend, &["image", "dist"]).success();
    assert_eq!(image_id(&tag), first, "a warm rebuild moved the tag");

    let path = project.path().join("stages.toml");
    let mut text = std::fs::read_to_string(&path).expect("read stages.toml");
    text.push_str("\n# A comment changes no image.\n");
    std::fs::write(&path, text).expect("write stages.toml");
    project.build_on(backend, &["image", "dist"]).success();
    assert_eq!(
        image_id(&tag),
        first,
        "a comment in stages.toml moved the tag"
    );
    remove_images(&[&tag]);
}

#[test]
fn native_builds_a_shared_stage_once_and_moves_no_tag_when_nothing_changed() {
    shares_one_build_of_each_stage("native");
}

#[test]
fn dockerfile_builds_a_shared_stage_once_and_moves_no_tag_when_nothing_changed() {
    shares_one_build_of_each_stage("dockerfile");
}

#[test]
fn buildkit_builds_a_shared_stage_once_and_moves_no_tag_when_nothing_changed() {
    shares_one_build_of_each_stage("buildkit");
}

/// BuildKit solves each target in a request of its own: the shared
/// stage's RUN must still run once (its output line is printed once in the
/// JSON progress), and a later target that reuses it — even one whose
/// solve BuildKit answers from its cache without reporting any step — is
/// summarised as built by this build, as on native.
#[test]
fn buildkit_runs_a_stage_shared_by_three_targets_once_and_counts_each_as_built() {
    engine();
    let marker = unique("shared-run");
    let tag = format!("{}:buildkit", unique("stages-shared"));
    let builder_tag = format!("{}:builder", unique("stages-shared"));
    let manifest = manifest(&tag).replace(
        "mkdir -p /out &&",
        &format!("echo {marker} && mkdir -p /out &&"),
    ) + &format!(
        r#"
[targets.builder-image]
stage = "builder"
tags = ["{builder_tag}"]
"#
    );
    let project = Project::new(&manifest);
    let run = Run::from(
        stages()
            .current_dir(project.path())
            .args(["build", "--backend", "buildkit", "--progress", "json"])
            .args(["image", "builder-image", "dist"])
            .output()
            .expect("run stages"),
    )
    .success();
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let runs = events
        .iter()
        .filter(|e| e["event"] == "output" && e["line"] == marker.as_str())
        .count();
    assert_eq!(
        runs,
        1,
        "the shared RUN ran {runs} times:\n{}",
        run.describe()
    );
    let summary = events
        .iter()
        .find(|e| e["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary:\n{}", run.describe()));
    let states: Vec<(&str, &str)> = summary["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap_or(""),
                t["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("image", "built"),
            ("builder-image", "built"),
            ("dist", "built")
        ],
        "{}",
        run.describe()
    );
    let exported = std::fs::read(project.path().join("dist/id")).expect("exported id");
    assert_eq!(files(&tag, "/id")["id"].contents, exported);
    assert_eq!(files(&builder_tag, "/out/id")["id"].contents, exported);
    remove_images(&[&tag, &builder_tag]);
}

/// Two builds of the same input that share no cache entry give the same
/// configuration; only what the forgiven list names (`Image`, the entry
/// the last step ran on, and the creation time) differs.
#[test]
fn two_uncached_native_builds_give_the_same_configuration() {
    engine();
    let tag = format!("{}:native", unique("stages-reproducible"));
    let project = Project::new(
        &manifest(&tag).replace("head -c 32 /dev/urandom | od -An -tx1", "echo fixed"),
    );
    let config = || {
        let mut config =
            serde_json::to_value(inspect(&tag).config.expect("config")).expect("config as JSON");
        if let Some(fields) = config.as_object_mut() {
            fields.remove("Image");
        }
        config
    };
    project
        .build_on("native", &["image", "--no-cache"])
        .success();
    let first = config();
    project
        .build_on("native", &["image", "--no-cache"])
        .success();
    assert_eq!(config(), first);
    remove_images(&[&tag]);
}
