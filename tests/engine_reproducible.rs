//! Reproducible images on the real Engine: with `SOURCE_DATE_EPOCH`, two
//! clean builds of the same project from two checkouts (each one's cache
//! removed, by the project's label, before the other builds) give the
//! same image id with the native back end; without it they do not.
//! `--verify-reproducible` passes on such a project and names the layer
//! and the file of one that writes the time. Every test removes the
//! images it tagged and its projects' caches. FAILS when the Engine is
//! unreachable.

mod engine_support;

use engine_support::{
    Project, Run, engine, inspect, remove_cache_volumes, remove_images, stages, unique,
};

/// 2023-11-14T22:13:20Z.
const EPOCH: &str = "1700000000";

/// COPY and RUN steps writing files, directories and a link, in a new
/// directory and in directories of the base.
fn project_text(tag: &str, run: &str) -> String {
    format!(
        r#"
[stages.app]
from = "busybox:stages-test"
workdir = "/app"
steps = [
  {{ copy = "src/", to = "/app/src/" }},
  {{ run = "{run}" }},
]
cmd = ["cat", "/out/hello"]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    )
}

const STEADY_RUN: &str = "mkdir -p /out/deep && cat /app/src/hello.txt > /out/hello && echo built > /app/built && ln -s /out/hello /app/link && echo x >> /etc/profile";

fn checkout(tag: &str, run: &str) -> Project {
    Project::new(&project_text(tag, run))
        .file("src/hello.txt", "hello\n")
        .file("src/sub/more.txt", "more\n")
}

fn build(project: &Project, epoch: Option<&str>, extra: &[&str]) -> Run {
    let mut command = stages();
    command
        .current_dir(project.path())
        .args(["build", "--progress", "plain"])
        .args(extra)
        .env_remove("SOURCE_DATE_EPOCH");
    if let Some(epoch) = epoch {
        command.env("SOURCE_DATE_EPOCH", epoch);
    }
    Run::from(command.output().expect("run stages"))
}

fn image_id(tag: &str) -> String {
    inspect(tag).id.unwrap_or_default()
}

/// Builds `run` in a fresh checkout, returns the image id, and leaves the
/// Engine without the build's image and cache entries.
fn clean_build(run: &str, epoch: Option<&str>) -> String {
    let tag = format!("stages-test/{}:latest", unique("repro"));
    let project = checkout(&tag, run);
    build(&project, epoch, &[]).success();
    let id = image_id(&tag);
    remove_images(&[&tag]);
    // The project's cache entries go with it (`stages cache prune`, by its label).
    drop(project);
    // A second later, a time written by the build would differ.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    id
}

#[test]
fn two_clean_builds_at_the_same_source_date_give_the_same_image() {
    engine();
    let first = clean_build(STEADY_RUN, Some(EPOCH));
    let second = clean_build(STEADY_RUN, Some(EPOCH));
    assert!(first.starts_with("sha256:"), "{first}");
    assert_eq!(first, second, "the same inputs and epoch give the same id");

    let tag = format!("stages-test/{}:latest", unique("repro"));
    let project = checkout(&tag, STEADY_RUN);
    build(&project, Some(EPOCH), &[]).success();
    let image = inspect(&tag);
    assert_eq!(image.created.as_deref(), Some("2023-11-14T22:13:20Z"));
    remove_images(&[&tag]);
}

#[test]
fn without_a_source_date_two_clean_builds_differ() {
    engine();
    let first = clean_build(STEADY_RUN, None);
    let second = clean_build(STEADY_RUN, None);
    assert!(first.starts_with("sha256:"), "{first}");
    assert_ne!(first, second, "the build's own times reach the image");
}

#[test]
fn verify_reproducible_passes_with_the_last_commit_s_time() {
    engine();
    let tag = format!("stages-test/{}:latest", unique("repro"));
    let project = checkout(&tag, STEADY_RUN);
    for args in [
        &["init", "-q"][..],
        &["add", "."],
        &["commit", "-q", "-m", "fixture"],
    ] {
        let status = std::process::Command::new("git")
            .current_dir(project.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_AUTHOR_DATE", "@1700000000 +0000")
            .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    }
    let run = build(&project, None, &["--verify-reproducible"]).success();
    assert!(
        run.stderr
            .contains("SOURCE_DATE_EPOCH=1700000000 (the last git commit's time)"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("reproducible: target `app` is sha256:"),
        "{}",
        run.describe()
    );
    assert_eq!(
        inspect(&tag).created.as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    remove_images(&[&tag]);
}

#[test]
fn verify_reproducible_names_the_layer_and_the_file_that_differ() {
    engine();
    let tag = format!("stages-test/{}:latest", unique("repro"));
    let project = checkout(
        &tag,
        "mkdir -p /out && cat /app/src/hello.txt > /out/hello && date +%s%N > /out/stamp",
    );
    let run = build(&project, Some(EPOCH), &["--verify-reproducible"]).exit(1);
    let text = run.stderr.as_str();
    assert!(
        text.contains("not reproducible: target `app`"),
        "{}",
        run.describe()
    );
    assert!(text.contains("layer 3 of 3"), "{}", run.describe());
    assert!(
        text.contains("date +%s%N > /out/stamp"),
        "{}",
        run.describe()
    );
    assert!(text.contains("  /out/stamp\n"), "{}", run.describe());
    assert!(
        !text.contains("  /out/hello\n"),
        "a file written the same is not named: {}",
        run.describe()
    );
    remove_images(&[&tag]);
}

#[test]
fn reproducible_outside_git_without_a_source_date_is_refused() {
    let project = checkout("stages-test/never-built:latest", STEADY_RUN);
    let run = build(&project, None, &["--reproducible"]);
    assert_ne!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.flat_stderr().contains("not in a git repository"),
        "{}",
        run.describe()
    );
    assert!(
        run.flat_stderr().contains("SOURCE_DATE_EPOCH"),
        "{}",
        run.describe()
    );
    // The project's own setting asks the same.
    let text = format!(
        "[project]\nreproducible = true\n{}",
        project_text("stages-test/never-built:latest", STEADY_RUN)
    );
    let project = Project::new(&text).file("src/hello.txt", "hello\n");
    let run = build(&project, None, &[]);
    assert_ne!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.flat_stderr().contains("not in a git repository"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_cache_mount_s_files_stay_out_of_the_layer_at_a_source_date() {
    engine();
    let tag = format!("stages-test/{}:latest", unique("repro"));
    let cache_id = unique("repro-cache");
    let text = format!(
        r#"
[stages.app]
from = "busybox:stages-test"
steps = [
  {{ run = "mkdir -p /out && echo cached > /var/cache/app/kept && echo out > /out/made", mounts = [{{ type = "cache", id = "{cache_id}", target = "/var/cache/app" }}] }},
]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    );
    let project = Project::new(&text);
    build(&project, Some(EPOCH), &[]).success();
    let tree = engine_support::files(&tag, "/");
    let entry = |path: &str| {
        tree.iter()
            .find(|(p, _)| p.trim_start_matches("./").trim_start_matches('/') == path)
            .map(|(_, e)| e.text())
    };
    let made = entry("out/made").expect("the step's file is in the image");
    assert_eq!(made.trim(), "out");
    assert!(
        entry("var/cache/app/kept").is_none(),
        "what the cache mount holds is not the layer's"
    );
    remove_images(&[&tag]);
    // The cache mount's volume is this test's (by its label).
    remove_cache_volumes(&cache_id);
}
