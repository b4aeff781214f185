//! One `stages build` of several targets, with each back end that builds
//! on the Engine: a stage two targets need is built once and both get its
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

fn build(project: &Project, backend: &str, extra: &[&str]) -> Run {
    let output = stages()
        .current_dir(project.path())
        .args(["build", "--backend", backend, "--progress", "plain"])
        .args(extra)
        .output()
        .expect("run stages");
    Run::from(output)
}

fn image_id(tag: &str) -> String {
    inspect(tag).id.expect("image id")
}

fn shares_one_build_of_each_stage(backend: &str) {
    engine();
    let tag = format!("{}:{backend}", unique("stages-shared"));
    let project = Project::new(&manifest(&tag));
    build(&project, backend, &["image", "dist", "--no-cache"]).success();

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
    build(&project, backend, &["image", "dist"]).success();
    assert_eq!(image_id(&tag), first, "a warm rebuild moved the tag");

    let path = project.path().join("stages.toml");
    let mut text = std::fs::read_to_string(&path).expect("read stages.toml");
    text.push_str("\n# A comment changes no image.\n");
    std::fs::write(&path, text).expect("write stages.toml");
    build(&project, backend, &["image", "dist"]).success();
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
    build(&project, "native", &["image", "--no-cache"]).success();
    let first = config();
    build(&project, "native", &["image", "--no-cache"]).success();
    assert_eq!(config(), first);
    remove_images(&[&tag]);
}
