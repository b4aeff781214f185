//! `check --backend X` reports everything `build --backend X` refuses
//! from the file, with a span; and no back end ignores a setting it
//! cannot honour (a stage's or a target's platform) — it refuses it.

mod engine_support;

use engine_support::{BASE_IMAGE, Run, engine, image_exists, stages};

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

/// The `(line, message)` of each diagnostic `check --backend` prints.
fn reported(dir: &std::path::Path, backend: &str) -> (Option<i32>, Vec<(u64, String)>) {
    let out = run(
        dir,
        // Lint's advice is not what this file tests.
        &[
            "check",
            "--backend",
            backend,
            "--no-lint",
            "--message-format",
            "json",
        ],
    );
    let found = out
        .stdout
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).expect("json line");
            let at = json["line"].as_u64().unwrap_or_default();
            (at, json["message"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    (out.code, found)
}

const PLATFORMS: &str = r#"[stages.app]
from = "busybox:stages-test"
platform = "linux/arm64"

[targets.app]
stage = "app"
platforms = ["linux/arm64"]
"#;

#[test]
fn a_stage_or_target_platform_is_reported_for_either_back_end() {
    let dir = project(PLATFORMS);
    let (code, found) = reported(dir.path(), "native");
    assert_eq!(code, Some(1), "{found:?}");
    assert_eq!(
        found,
        [
            (
                3,
                "the native builder cannot express a stage platform".to_owned()
            ),
            (
                7,
                "the native builder cannot express a target platform".to_owned()
            ),
        ]
    );
    let (code, found) = reported(dir.path(), "dockerfile");
    assert_eq!(code, Some(1), "{found:?}");
    assert_eq!(
        found,
        [
            (
                3,
                "the classic Dockerfile builder cannot express a stage platform".to_owned()
            ),
            (
                7,
                "the classic Dockerfile builder cannot express a target platform".to_owned()
            ),
        ]
    );
}

/// `platform = "$BUILDPLATFORM"` names the platform the native back end
/// builds on and for: it passes there, and still fails where the platform
/// would be dropped (the classic builder).
#[test]
fn the_build_platform_is_honoured_by_native_and_refused_by_the_classic_builder() {
    for spelling in ["$BUILDPLATFORM", "${BUILDPLATFORM}"] {
        let dir = project(&format!(
            "[stages.app]\nfrom = \"busybox:stages-test\"\nplatform = \"{spelling}\"\n"
        ));
        let (code, found) = reported(dir.path(), "native");
        assert_eq!((code, found), (Some(0), Vec::new()), "{spelling}");
        let (code, found) = reported(dir.path(), "dockerfile");
        assert_eq!(code, Some(1), "{spelling}: {found:?}");
        assert_eq!(
            found,
            [(
                3,
                "the classic Dockerfile builder cannot express a stage platform".to_owned()
            )]
        );
    }
}

#[test]
fn check_reports_what_the_native_build_refuses() {
    let dir = project(
        r#"[stages.app]
from = "busybox:stages-test"
steps = [
  { run = "true", security = "insecure" },
  { add = "https://example.com/x.tar", to = "/x" },
  { run = "true", mounts = [{ type = "bind", from = "alpine:3", target = "/a" }] },
  { add = "a.txt", to = "/a", checksum = "sha256:0000000000000000000000000000000000000000000000000000000000000000" },
]
"#,
    );
    std::fs::write(dir.path().join("a.txt"), "a").expect("write a.txt");
    let (code, found) = reported(dir.path(), "native");
    assert_eq!(code, Some(1), "{found:?}");
    let lines: Vec<u64> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [4, 5, 6, 7], "{found:?}");
    for (_, message) in &found {
        assert!(
            message.starts_with("the native builder cannot express"),
            "{message}"
        );
    }
}

#[test]
fn devices_and_unpack_are_refused_by_every_back_end() {
    // Newer than the Engine's built-in Dockerfile frontend: export them instead.
    let dir = project(
        r#"[stages.app]
from = "busybox:stages-test"
steps = [
  { run = "true", devices = ["vendor.com/gpu=all"] },
  { add = "a.tar", to = "/", unpack = false },
]
"#,
    );
    std::fs::write(dir.path().join("a.tar"), "a").expect("write a.tar");
    for (backend, name) in [
        ("native", "the native builder"),
        ("dockerfile", "the classic Dockerfile builder"),
        ("buildkit", "the Engine's built-in BuildKit frontend"),
    ] {
        let (code, found) = reported(dir.path(), backend);
        assert_eq!(code, Some(1), "{backend}: {found:?}");
        assert_eq!(
            found,
            [
                (4, format!("{name} cannot express `devices` on a run step")),
                (5, format!("{name} cannot express `unpack` on add")),
            ],
            "{backend}"
        );
    }
}

#[test]
fn builds_refuse_a_stage_platform_before_anything_runs() {
    engine_with_base_image();
    let dir = project(
        r#"[stages.app]
from = "busybox:stages-test"
platform = "linux/arm64"
steps = [{ run = "true" }]
"#,
    );
    for backend in ["dockerfile", "native"] {
        let out = run(
            dir.path(),
            &["build", "--backend", backend, "--progress", "plain"],
        )
        .exit(1);
        assert!(
            out.flat_stderr()
                .contains("cannot express a stage platform"),
            "{backend}: {}",
            out.describe()
        );
    }
}

#[test]
fn a_native_build_honours_the_build_platform() {
    engine_with_base_image();
    let tag = format!("{}:v1", engine_support::unique("stages-build-platform"));
    let dir = project(&format!(
        r#"[stages.app]
from = "busybox:stages-test"
platform = "$BUILDPLATFORM"
steps = [{{ run = "uname -m > /arch" }}]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    ));
    run(
        dir.path(),
        &["build", "--backend", "native", "--progress", "plain"],
    )
    .exit(0);
    assert!(image_exists(&tag), "{tag} was not built");
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
    // The step cache entry of the build goes with the test's project.
    run(dir.path(), &["cache", "prune"]).exit(0);
}

/// The Engine with the one base image these tests use; `engine()` (which
/// makes every base image, waiting for any other test run doing so) only
/// when it is missing.
fn engine_with_base_image() {
    if !image_exists(BASE_IMAGE) {
        engine();
    }
}

/// A copy-only artifact target for two platforms (one with `platforms_line`
/// replaced), which only a remote builder can build.
fn artifact_platforms(platforms_line: &str) -> tempfile::TempDir {
    let dir = project(&format!(
        r#"[stages.build]
from = "scratch"
steps = [{{ copy = "hello.txt", to = "/out/hello.txt" }}]

[artifacts.hello]
stage = "build"
path = "/out/hello.txt"

[targets.dist]
artifacts = ["hello"]
output = "dist/"
{platforms_line}
"#
    ));
    std::fs::write(dir.path().join("hello.txt"), "hello\n").expect("write hello.txt");
    dir
}

#[test]
fn platforms_on_an_artifact_target_are_refused_by_every_engine_back_end() {
    let two = artifact_platforms(r#"platforms = ["linux/amd64", "linux/arm64"]"#);
    let one = artifact_platforms(r#"platforms = ["linux/arm64"]"#);
    for (backend, name) in [
        ("native", "the native builder"),
        ("dockerfile", "the classic Dockerfile builder"),
        ("buildkit", "the Engine's built-in BuildKit frontend"),
    ] {
        for dir in [&two, &one] {
            let (code, found) = reported(dir.path(), backend);
            assert_eq!(code, Some(1), "{backend}: {found:?}");
            assert_eq!(
                found,
                [(
                    12,
                    format!("{name} cannot build an artifact target for other platforms")
                )],
                "{backend}"
            );
        }
        let human = run(
            two.path(),
            &[
                "check",
                "--backend",
                backend,
                "--no-lint",
                "--color",
                "never",
            ],
        )
        .exit(1);
        insta::assert_snapshot!(format!("artifact_platforms_{backend}"), human.stderr);
    }
    // Without a back end the file is valid: a remote builder builds it.
    let plain = run(two.path(), &["check", "--no-lint", "--color", "never"]).exit(0);
    assert!(plain.stdout.contains(": ok"), "{}", plain.describe());
}

#[test]
fn a_build_refuses_artifact_platforms_before_the_engine_is_asked_anything() {
    let dir = artifact_platforms(r#"platforms = ["linux/amd64", "linux/arm64"]"#);
    for backend in ["buildkit", "native", "dockerfile"] {
        let out = run(
            dir.path(),
            &["build", "--backend", backend, "--progress", "plain"],
        )
        // An unreachable Engine would be another failure: none is asked.
        .exit(1);
        let text = out.flat_stderr();
        assert!(
            text.contains("cannot build an artifact target for other platforms")
                && text.contains("--builder"),
            "{backend}: {}",
            out.describe()
        );
        assert!(!dir.path().join("dist").exists(), "{backend}: wrote dist/");
    }
}

/// Several sources to a destination without a trailing `/`: the classic
/// builder refuses what BuildKit and native copy onto it in turn, so only
/// `--backend dockerfile` reports it, on the destination, before building.
#[test]
fn several_sources_to_a_destination_without_a_slash_are_refused_for_the_classic_builder() {
    let dir = project(
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [\n  { copy = [\"a.txt\", \"b.txt\"], to = \"/opt\" },\n  { add = [\"a.txt\", \"b.txt\"], to = \"/srv/\" },\n  { copy = \"*.txt\", to = \"/one\" },\n]\n",
    );
    for name in ["a.txt", "b.txt"] {
        std::fs::write(dir.path().join(name), name).expect("write a source");
    }
    let (code, found) = reported(dir.path(), "dockerfile");
    assert_eq!(code, Some(1), "{found:?}");
    assert_eq!(
        found,
        [(
            4,
            "the classic Dockerfile builder cannot express several sources copied to a destination that does not end with `/`".to_owned()
        )]
    );
    for backend in ["native", "buildkit"] {
        assert_eq!(
            reported(dir.path(), backend),
            (Some(0), Vec::new()),
            "{backend}"
        );
    }
    let build = run(
        dir.path(),
        &["build", "--backend", "dockerfile", "--progress", "plain"],
    );
    assert_eq!(build.code, Some(1), "{}", build.describe());
    assert!(
        build
            .flat_stderr()
            .contains("several sources copied to a destination"),
        "{}",
        build.describe()
    );
}
