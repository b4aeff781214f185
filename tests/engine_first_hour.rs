//! What a new user meets in a first build, on the real Engine: the
//! summary at the end, `--all`, `-v`, a failing step that ran as another
//! user, and an exported artifact target that writes the files `stages
//! build` writes. FAILS when the Engine is unreachable.

mod engine_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use engine_support::{Project, engine, files, remove_images, stages, unique};

fn two_targets(marker: &str) -> String {
    format!(
        r#"[project]
default-target = "img"

[stages.build]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{marker}" }}
steps = [{{ run = "mkdir -p /out && echo {marker} > /out/app" }}]

[artifacts.app]
stage = "build"
path = "/out/app"

[targets.img]
stage = "build"
tags = ["{marker}:v1"]

[targets.files]
artifacts = ["app"]
output = "dist/"
"#
    )
}

fn summary(stderr: &str) -> Vec<String> {
    let start = stderr
        .lines()
        .position(|l| l.starts_with("build finished in") || l.starts_with("build failed after"))
        .unwrap_or_else(|| panic!("no summary in:\n{stderr}"));
    stderr
        .lines()
        .skip(start + 1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn all_builds_every_target_and_the_summary_says_built_then_cached() {
    engine();
    let marker = unique("first-hour-all");
    let project = Project::new(&two_targets(&marker));
    for backend in ["dockerfile", "native"] {
        let first = stages()
            .current_dir(project.path())
            .args([
                "build",
                "--all",
                "--no-cache",
                "--progress",
                "plain",
                "--backend",
                backend,
            ])
            .output()
            .expect("build");
        let stderr = String::from_utf8_lossy(&first.stderr);
        assert!(first.status.success(), "{stderr}");
        assert_eq!(summary(&stderr), ["img built", "files built"], "{stderr}");
        assert!(stderr.contains("dist/"), "{stderr}");
        assert!(
            std::fs::read_to_string(project.path().join("dist/app"))
                .expect("dist/app")
                .contains(&marker)
        );
        let again = stages()
            .current_dir(project.path())
            .args([
                "build",
                "--all",
                "--progress",
                "plain",
                "--backend",
                backend,
            ])
            .output()
            .expect("build");
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert_eq!(summary(&stderr), ["img cached", "files cached"], "{stderr}");
    }
    // Without --all, the default target only; -v says what runs where.
    let default = stages()
        .current_dir(project.path())
        .args(["-v", "build"])
        .output()
        .expect("build");
    let stderr = String::from_utf8_lossy(&default.stderr);
    assert_eq!(summary(&stderr), ["img cached"], "{stderr}");
    assert!(
        stderr.contains("building img with the native builder on the Engine at"),
        "{stderr}"
    );
    remove_images(&[&format!("{marker}:v1")]);
}

#[test]
fn a_failed_step_says_which_user_it_ran_as_and_where_that_was_set() {
    engine();
    let project = Project::new(
        r#"[stages.app]
from = "busybox:stages-test"
steps = [{ run = "mkdir /opt-not-for-nobody" }]
user = "nobody"
"#,
    );
    for backend in ["dockerfile", "native"] {
        let run = stages()
            .current_dir(project.path())
            .args([
                "build",
                "--progress",
                "plain",
                "--no-cache",
                "--backend",
                backend,
            ])
            .output()
            .expect("build");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        // The report wraps long lines: compare with spaces collapsed.
        let flat = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("(it ran as user `nobody`)"),
            "{backend}: {stderr}"
        );
        assert!(
            stderr.contains("`user = \"nobody\"` is set here: it applies right after FROM"),
            "{backend}: {stderr}"
        );
        assert_eq!(summary(&stderr), ["app failed"], "{stderr}");
    }
}

/// Path → (mode, contents) of every file and directory under `dir`.
fn tree(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("read dir").flatten() {
            let path = entry.path();
            let name = path
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                pending.push(path);
                out.insert(name, (mode, Vec::new()));
            } else {
                out.insert(name, (mode, std::fs::read(&path).expect("read")));
            }
        }
    }
    out
}

#[test]
fn an_exported_artifact_target_gives_the_files_stages_build_writes() {
    engine();
    let marker = unique("first-hour-export");
    let project = Project::new(&format!(
        r#"[stages.build]
from = "busybox:stages-test"
steps = [{{ run = "mkdir -p /out/docs/deep && echo {marker} > /out/app && chmod 750 /out/app && echo guide > /out/docs/deep/guide.txt" }}]

[artifacts.app]
stage = "build"
path = "/out/app"

[artifacts.docs]
stage = "build"
path = "/out/docs"

[targets.bundle]
artifacts = ["app", "docs"]
output = "dist/"
"#
    ));
    let built = stages()
        .current_dir(project.path())
        .args(["build", "bundle", "--progress", "plain"])
        .output()
        .expect("build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let exported = stages()
        .current_dir(project.path())
        .args(["export-dockerfile", "bundle", "-o", "Dockerfile"])
        .output()
        .expect("export");
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let dockerfile =
        std::fs::read_to_string(project.path().join("Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains("FROM scratch AS bundle"),
        "{dockerfile}"
    );
    // The classic builder's equivalent of `--output type=local`: build the
    // stage, then copy each top-level entry out of a container of it.
    let tag = format!("{marker}:bundle");
    let classic = Command::new("docker")
        .current_dir(project.path())
        .env("DOCKER_BUILDKIT", "0")
        .args([
            "build",
            "-q",
            "--target",
            "bundle",
            "-t",
            &tag,
            "-f",
            "Dockerfile",
            ".",
        ])
        .output()
        .expect("docker build");
    assert!(
        classic.status.success(),
        "{}",
        String::from_utf8_lossy(&classic.stderr)
    );
    let expected = tree(&project.path().join("dist"));
    let mut copied = BTreeMap::new();
    for name in expected.keys().filter(|n| !n.contains('/')) {
        for (path, entry) in files(&tag, &format!("/{name}")) {
            copied.insert(path, (entry.mode, entry.contents));
        }
    }
    remove_images(&[&tag]);
    assert_eq!(copied, expected);
    assert!(expected.contains_key("docs/deep/guide.txt"), "{expected:?}");
}
