//! Wildcards in a copy from another stage, native against the Engine's
//! BuildKit (the reference for what they match): the same files in the
//! same image; a pattern matching nothing copies nothing on both (the
//! classic builder fails there); a missing directory above the wildcard
//! fails on both. Runs against the real Engine; FAILS when it is
//! unreachable.

mod engine_support;

use engine_support::image_views::{buildkit_compared_config, image_tree};
use engine_support::{Project, engine, remove_images, unique};

fn manifest(tag: &str, copies: &str) -> String {
    format!(
        r#"
[stages.build]
from = "busybox:stages-test"
steps = [
  {{ run = "mkdir -p /out/app-dir /out/.hidden /out/lib && echo a > /out/app && echo t > /out/app.test && echo o > /out/other && echo i > /out/app-dir/inner && echo h > /out/.hidden/inner && echo l > /out/lib/libx.so && ln -s app /out/app-link && chmod 750 /out/app.test" }},
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
    )
}

#[test]
fn wildcards_from_a_stage_copy_what_buildkit_copies() {
    engine();
    let prefix = unique("stages-wildcard-from");
    let copies = r#"
  { copy = "/out/app*", from = "build", to = "/bin/" },
  { copy = "/out/*/inner", from = "build", to = "/deep/" },
  { copy = "/out/[a-l]??/libx.*", from = "build", to = "/single" },
  { copy = ["/out/o?her", "/out/app-l*"], from = "build", to = "/two/" },
"#;
    let (native_tag, buildkit_tag) = (format!("{prefix}:native"), format!("{prefix}:buildkit"));
    let native = Project::new(&manifest(&native_tag, copies));
    let buildkit = Project::new(&manifest(&buildkit_tag, copies));
    native.build_on("native", &["image"]).success();
    let run = buildkit.build_on("buildkit", &["image"]).success();
    assert_eq!(
        buildkit_compared_config(&native_tag),
        buildkit_compared_config(&buildkit_tag),
        "{}",
        run.describe()
    );
    let (ours, theirs) = (image_tree(&native_tag), image_tree(&buildkit_tag));
    for path in [
        "/bin/app",
        "/bin/app.test",
        "/bin/app-link",
        "/deep/inner",
        "/single",
        "/two/other",
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
    remove_images(&[&native_tag, &buildkit_tag]);
}

#[test]
fn a_wildcard_from_a_stage_that_matches_nothing_copies_nothing_as_buildkit() {
    engine();
    let prefix = unique("stages-wildcard-none");
    let copies = r#"  { copy = "/out/nothing*", from = "build", to = "/made/" },"#;
    let (native_tag, buildkit_tag) = (format!("{prefix}:native"), format!("{prefix}:buildkit"));
    let native = Project::new(&manifest(&native_tag, copies));
    let buildkit = Project::new(&manifest(&buildkit_tag, copies));
    native.build_on("native", &["image"]).success();
    buildkit.build_on("buildkit", &["image"]).success();
    let (ours, theirs) = (image_tree(&native_tag), image_tree(&buildkit_tag));
    assert!(
        !ours.contains_key("/made"),
        "nothing is made: {:?}",
        ours.keys()
    );
    assert!(ours == theirs, "the files differ from BuildKit's");
    remove_images(&[&native_tag, &buildkit_tag]);
}

#[test]
fn a_wildcard_below_a_missing_directory_fails_on_both_and_names_it() {
    engine();
    let prefix = unique("stages-wildcard-missing");
    let copies = r#"  { copy = "/missing/dir*", from = "build", to = "/made/" },"#;
    let (native_tag, buildkit_tag) = (format!("{prefix}:native"), format!("{prefix}:buildkit"));
    let native = Project::new(&manifest(&native_tag, copies));
    let buildkit = Project::new(&manifest(&buildkit_tag, copies));
    let run = native.build_on("native", &["image"]).exit(1);
    assert!(
        run.flat_stderr().contains("is not in the source image"),
        "the error names the directory:\n{}",
        run.describe()
    );
    buildkit.build_on("buildkit", &["image"]).exit(1);
    assert!(!engine_support::image_exists(&native_tag));
    assert!(!engine_support::image_exists(&buildkit_tag));
}
