//! Several sources copied to a destination that is neither a directory of
//! the image nor written with a trailing `/`: native against the Engine's
//! BuildKit, which copies them onto the destination one after the other
//! (the classic builder refuses). From the context and from another stage,
//! files and directories; the same files in the same image, and a
//! directory copied over a file fails on both. Runs against the real
//! Engine; FAILS when it is unreachable.

mod engine_support;

use engine_support::image_views::image_tree;
use engine_support::{Project, engine, image_exists, remove_images, unique};

fn project(tag: &str, copies: &str) -> Project {
    Project::new(&format!(
        r#"
[stages.build]
from = "busybox:stages-test"
steps = [
  {{ run = "mkdir -p /out/dir1 /out/dir2 && echo 1 > /out/file1 && echo 22 > /out/file2 && chmod 700 /out/file2 && echo i > /out/dir1/in1 && echo j > /out/dir2/in2" }},
]

[stages.image]
from = "busybox:stages-test"
steps = [
{copies}
]

[targets.image]
stage = "image"
tags = ["{tag}"]
"#
    ))
    .file("a.txt", "a\n")
    .file("b.txt", "bb\n")
    .file("d1/one", "1\n")
    .file("d2/two", "2\n")
}

/// Builds `copies` on both back ends; the two images' file trees.
fn both(copies: &str) -> (String, String) {
    let prefix = unique("stages-copy-in-turn");
    let (native_tag, buildkit_tag) = (format!("{prefix}:native"), format!("{prefix}:buildkit"));
    project(&native_tag, copies)
        .build_on("native", &["image"])
        .success();
    project(&buildkit_tag, copies)
        .build_on("buildkit", &["image"])
        .success();
    (native_tag, buildkit_tag)
}

#[test]
fn several_sources_onto_one_destination_give_buildkits_files() {
    engine();
    let copies = r#"
  { copy = "*.txt", to = "/last" },
  { copy = ["b.txt", "a.txt"], to = "/given-order" },
  { copy = ["d*", "a.txt"], to = "/dirs" },
  { copy = "/out/file*", from = "build", to = "/from-stage" },
  { copy = ["/out/dir*", "/out/file1"], from = "build", to = "/stage-dirs" },
"#;
    let (native_tag, buildkit_tag) = both(copies);
    let (ours, theirs) = (image_tree(&native_tag), image_tree(&buildkit_tag));
    remove_images(&[&native_tag, &buildkit_tag]);
    for path in [
        "/last",
        "/given-order",
        "/dirs/one",
        "/dirs/two",
        "/dirs/a.txt",
        "/from-stage",
        "/stage-dirs/in1",
        "/stage-dirs/in2",
        "/stage-dirs/file1",
    ] {
        assert!(
            ours.contains_key(path),
            "{path} is missing: {:?}",
            ours.keys()
        );
    }
    let only_ours: Vec<&String> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    let only_theirs: Vec<&String> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only native: {only_ours:?}\nonly BuildKit: {only_theirs:?}"
    );
    for (path, entry) in &ours {
        assert_eq!(Some(entry), theirs.get(path), "{path} differs");
    }
}

#[test]
fn a_directory_over_a_file_of_the_same_step_fails_on_both() {
    engine();
    let prefix = unique("stages-copy-over-file");
    let copies = r#"  { copy = ["a.txt", "d1"], to = "/over" },"#;
    let (native_tag, buildkit_tag) = (format!("{prefix}:native"), format!("{prefix}:buildkit"));
    let run = project(&native_tag, copies)
        .build_on("native", &["image"])
        .exit(1);
    assert!(
        run.flat_stderr().contains(
            "\"d1\" is a directory, and an earlier source of this step wrote /over as a file"
        ),
        "{}",
        run.describe()
    );
    project(&buildkit_tag, copies)
        .build_on("buildkit", &["image"])
        .exit(1);
    assert!(!image_exists(&native_tag));
    assert!(!image_exists(&buildkit_tag));
}
