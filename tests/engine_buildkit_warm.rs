//! The BuildKit back end's warm no-op against the real Engine's embedded
//! BuildKit: a rebuild whose inputs did not change asks BuildKit for no
//! solve (the JSON summary counts the solves sent) and says the target is
//! up to date; each input that can change the image (a file a step reads,
//! a build arg, what stages.toml exports, `.dockerignore`, the image
//! itself, `--no-cache`) makes it solve again; a file no step reads, a
//! touched file or a comment in stages.toml does not. FAILS when the
//! Engine is unreachable.

mod engine_support;

use std::process::Command;

use engine_support::{Project, Run, engine, files, image_exists, inspect, remove_images, stages};

/// What a `stages build --backend buildkit --progress json` said.
struct Outcome {
    run: Run,
    summary: serde_json::Value,
}

impl Outcome {
    fn solves(&self) -> u64 {
        self.summary["solves"]
            .as_u64()
            .unwrap_or_else(|| panic!("no solve count:\n{}", self.run.describe()))
    }

    fn state(&self, target: &str) -> String {
        self.summary["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["target"] == target)
            .and_then(|t| t["state"].as_str())
            .unwrap_or_else(|| panic!("no state of {target}:\n{}", self.run.describe()))
            .to_owned()
    }

    fn up_to_date_events(&self) -> usize {
        self.run
            .stdout
            .lines()
            .filter(|l| l.contains(r#""event":"up-to-date""#))
            .count()
    }
}

fn build(project: &Project, args: &[&str]) -> Outcome {
    let run = Run::from(
        stages()
            .current_dir(project.path())
            .args(["build", "--backend", "buildkit", "--progress", "json"])
            .args(args)
            .output()
            .expect("run stages"),
    )
    .success();
    let summary = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary:\n{}", run.describe()));
    Outcome { run, summary }
}

/// Asserts the build asked BuildKit for `solves` solves.
#[track_caller]
fn assert_solves(outcome: &Outcome, solves: u64, why: &str) {
    assert_eq!(
        outcome.solves(),
        solves,
        "{why}:\n{}",
        outcome.run.describe()
    );
}

fn set_mtime(path: &std::path::Path, seconds: u64) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds))
        .expect("set mtime");
}

fn docker(args: &[&str]) {
    let status = Command::new("docker")
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("docker");
    assert!(status.success(), "docker {args:?}");
}

#[test]
fn a_warm_rebuild_solves_nothing_until_something_it_reads_changes() {
    engine();
    let tag = format!("{}:v1", engine_support::unique("stages-bk-warm"));
    let toml = format!(
        r#"[args]
GREETING = "hello"

[stages.base]
from = "busybox:stages-test"
steps = [{{ run = "echo base > /base.txt" }}]

[stages.app]
from = {{ stage = "base" }}
args = {{ GREETING = {{}} }}
steps = [
  {{ copy = "src/", to = "/app/src/" }},
  {{ run = "echo ${{GREETING}} > /app/greeting.txt" }},
]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    );
    let project = Project::new(&toml)
        .file("src/a.txt", "a\n")
        .file("src/ignored.txt", "ignored\n")
        .file("unread.txt", "no step reads this\n")
        .file(".dockerignore", "src/ignored.txt\n");
    let path = |p: &str| project.path().join(p);

    let first = build(&project, &[]);
    assert_solves(&first, 1, "the first build solves");
    // Built, or cached when BuildKit kept the steps from an earlier run.
    assert_ne!(first.state("app"), "up to date");
    let image = inspect(&tag).id.expect("image id");

    let warm = build(&project, &[]);
    assert_solves(&warm, 0, "nothing changed");
    assert_eq!(warm.state("app"), "up to date");
    assert_eq!(warm.up_to_date_events(), 1, "{}", warm.run.describe());
    assert_eq!(warm.summary["targets"][0]["image"], image.as_str());
    assert_eq!(inspect(&tag).id.as_deref(), Some(image.as_str()));

    std::fs::write(path("unread.txt"), "edited, still unread\n").unwrap();
    std::fs::write(path("src/ignored.txt"), "edited, still ignored\n").unwrap();
    assert_solves(&build(&project, &[]), 0, "files no step reads changed");

    set_mtime(&path("src/a.txt"), 86_400);
    assert_solves(&build(&project, &[]), 0, "a touched file, same content");

    std::fs::write(path("src/a.txt"), "a, edited\n").unwrap();
    let edited = build(&project, &[]);
    assert_solves(&edited, 1, "a file COPY reads changed");
    assert_eq!(files(&tag, "/app/src/a.txt")["a.txt"].text(), "a, edited\n");
    assert_solves(&build(&project, &[]), 0, "the edit is recorded");

    std::fs::write(path("src/new.txt"), "new\n").unwrap();
    assert_solves(
        &build(&project, &[]),
        1,
        "a new file under a copied directory",
    );

    let bonjour = build(&project, &["--build-arg", "GREETING=bonjour"]);
    assert_solves(&bonjour, 1, "a build arg changed");
    assert_eq!(
        files(&tag, "/app/greeting.txt")["greeting.txt"].text(),
        "bonjour\n"
    );
    assert_solves(
        &build(&project, &["--build-arg", "GREETING=bonjour"]),
        0,
        "the same build arg again",
    );
    assert_solves(&build(&project, &[]), 1, "back to the default value");

    std::fs::write(path("stages.toml"), format!("# a comment\n{toml}")).unwrap();
    assert_solves(&build(&project, &[]), 0, "a comment exports no change");
    let changed = toml.replace("echo base", "echo base changed");
    std::fs::write(path("stages.toml"), &changed).unwrap();
    assert_solves(&build(&project, &[]), 1, "a step of a needed stage changed");

    std::fs::write(path(".dockerignore"), "src/ignored.txt\n# edited\n").unwrap();
    assert_solves(&build(&project, &[]), 1, ".dockerignore changed");

    let cold = build(&project, &["--no-cache"]);
    assert_solves(&cold, 1, "--no-cache always solves");
    assert_eq!(cold.up_to_date_events(), 0);

    remove_images(&[&tag]);
    assert!(!image_exists(&tag));
    assert_solves(&build(&project, &[]), 1, "the image was deleted");
    assert!(image_exists(&tag), "the tag is back");

    docker(&["tag", "busybox:stages-test", &tag]);
    assert_solves(&build(&project, &[]), 1, "the tag names another image");
    assert_ne!(
        inspect(&tag).id,
        inspect("busybox:stages-test").id,
        "the tag is back on the built image"
    );
    assert_solves(&build(&project, &[]), 0, "and then up to date again");
    remove_images(&[&tag]);
}

/// Artifacts come through the local exporter of a solve: a warm artifact
/// target is one solve BuildKit answers from its cache, and its files are
/// written again.
#[test]
fn a_warm_artifact_target_is_answered_from_the_cache_and_still_writes_its_files() {
    engine();
    let marker = engine_support::unique("bk-warm-artifact");
    let project = Project::new(&format!(
        r#"[stages.build]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{marker}" }}
steps = [
  {{ copy = "in.txt", to = "/in.txt" }},
  {{ run = "mkdir -p /out && cp /in.txt /out/app" }},
]

[artifacts.app]
stage = "build"
path = "/out/app"

[targets.dist]
artifacts = ["app"]
output = "dist/"
"#
    ))
    .file("in.txt", "one\n");
    let exported = project.path().join("dist/app");
    assert_solves(&build(&project, &["dist"]), 1, "the first build solves");
    assert_eq!(std::fs::read_to_string(&exported).unwrap(), "one\n");

    std::fs::remove_file(&exported).unwrap();
    let warm = build(&project, &["dist"]);
    assert_solves(&warm, 1, "an artifact target is always solved");
    assert_eq!(
        warm.state("dist"),
        "cached",
        "every step came from the cache"
    );
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap(),
        "one\n",
        "the files are exported again"
    );

    std::fs::write(project.path().join("in.txt"), "two\n").unwrap();
    assert_solves(&build(&project, &["dist"]), 1, "its input changed");
    assert_eq!(std::fs::read_to_string(&exported).unwrap(), "two\n");

    // The stage images BuildKit exported carry the marker label.
    let images = Command::new("docker")
        .args([
            "images",
            "-q",
            "--filter",
            &format!("label=dev.stages.test={marker}"),
        ])
        .output()
        .expect("docker images");
    for id in String::from_utf8_lossy(&images.stdout).split_whitespace() {
        let _ = Command::new("docker").args(["rmi", "-f", id]).output();
    }
}

#[test]
fn a_failed_build_records_nothing() {
    engine();
    let tag = format!("{}:v1", engine_support::unique("stages-bk-warm-fail"));
    let project = Project::new(&format!(
        r#"[stages.good]
from = "busybox:stages-test"
steps = [{{ run = "echo good > /good.txt" }}]

[stages.bad]
from = "busybox:stages-test"
steps = [{{ run = "exit 7" }}]

[targets.good]
stage = "good"
tags = ["{tag}"]

[targets.bad]
stage = "bad"
"#
    ));
    let failed = Run::from(
        stages()
            .current_dir(project.path())
            .args([
                "build",
                "--backend",
                "buildkit",
                "--progress",
                "plain",
                "good",
                "bad",
            ])
            .output()
            .expect("run stages"),
    )
    .exit(1);
    assert!(!image_exists(&tag), "{}", failed.describe());
    assert_solves(
        &build(&project, &["good"]),
        1,
        "the solve of the failed build was not recorded",
    );
    let warm = build(&project, &["good"]);
    assert_solves(&warm, 0, "recorded after the build that succeeded");
    assert!(
        warm.run.stderr.is_empty() || !warm.run.stderr.contains("warning"),
        "{}",
        warm.run.describe()
    );
    remove_images(&[&tag]);
}
