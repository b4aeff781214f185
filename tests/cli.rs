//! The command line as users run it: exit codes, output formats, files
//! written (or refused), the checked-in schema.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn stages() -> Command {
    let mut command = Command::cargo_bin("stages").expect("the stages binary is built");
    command.env("NO_COLOR", "1");
    command
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example(name: &str) -> PathBuf {
    root().join("examples").join(name).join("stages.toml")
}

fn invalid(name: &str) -> PathBuf {
    root()
        .join("tests/check/invalid")
        .join(format!("{name}.toml"))
}

#[test]
fn check_exits_0_on_a_clean_file() {
    stages()
        .args(["check", "-f"])
        .arg(example("href-counter"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ok (2 stages, 1 artifact, 1 target; 0 errors, 0 warnings)",
        ));
}

#[test]
fn check_exits_1_on_errors_and_0_on_warnings() {
    stages()
        .args(["check", "-f"])
        .arg(invalid("cycle-of-two"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("stages::check::cycle"));
    stages()
        .args(["check", "-f"])
        .arg(invalid("warn-unreached-stage"))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("stages::check::unreached-stage"));
}

#[test]
fn check_exits_2_when_the_file_cannot_be_read() {
    stages()
        .args(["check", "-f", "/nonexistent/stages.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/stages.toml",
        ));
}

#[test]
fn check_json_prints_one_object_per_diagnostic() {
    let output = stages()
        .args(["check", "--message-format", "json", "-f"])
        .arg(invalid("several-problems-at-once"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).expect("utf-8");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(lines.len() >= 4, "{text}");
    let cycle = lines
        .iter()
        .find(|d| d["code"] == "stages::check::cycle")
        .expect("the cycle is reported");
    assert_eq!(cycle["severity"], "error");
    assert_eq!(cycle["line"], 3);
    assert!(cycle["help"].is_string());
}

#[test]
fn check_finds_stages_toml_in_a_parent_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::copy(example("stage-chain"), dir.path().join("stages.toml")).expect("copy");
    stages()
        .current_dir(&nested)
        .arg("check")
        .assert()
        .success()
        .stdout(predicate::str::contains("3 stages"));
}

#[test]
fn plan_and_graph_reject_unknown_names_with_a_suggestion() {
    stages()
        .args(["plan", "runtme", "-f"])
        .arg(example("href-counter"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `runtime`?"));
    stages()
        .args(["graph", "nope", "-f"])
        .arg(example("href-counter"))
        .assert()
        .code(2);
}

#[test]
fn plan_on_a_broken_file_fails_with_its_diagnostics() {
    stages()
        .args(["plan", "-f"])
        .arg(invalid("unknown-stage-in-from"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean `builder`?"));
}

#[test]
fn graph_formats() {
    for (format, marker) in [
        ("dot", "digraph stages {"),
        ("mermaid", "flowchart LR"),
        ("text", "stage builder"),
    ] {
        stages()
            .args(["graph", "--format", format, "-f"])
            .arg(example("href-counter"))
            .assert()
            .success()
            .stdout(predicate::str::contains(marker));
    }
}

#[test]
fn the_checked_in_schema_is_current() {
    let printed = stages()
        .arg("schema")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let file = std::fs::read(root().join("schema/stages.schema.json")).expect("schema file");
    assert!(
        printed == file,
        "schema/stages.schema.json is stale: run `cargo run -- schema -o schema/stages.schema.json --force`"
    );
}

#[test]
fn schema_output_is_refused_over_an_existing_file_without_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("schema.json");
    std::fs::write(&path, "keep me").expect("write");
    stages().arg("schema").arg("-o").arg(&path).assert().code(2);
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "keep me");
    stages()
        .arg("schema")
        .arg("-o")
        .arg(&path)
        .arg("--force")
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .contains("draft-07")
    );
}

#[test]
fn init_writes_a_clean_starter_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("temp dir");
    stages().arg("init").arg(dir.path()).assert().success();
    let config = dir.path().join("stages.toml");
    stages()
        .args(["check", "-f"])
        .arg(&config)
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    stages()
        .arg("init")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    stages()
        .arg("init")
        .arg(dir.path())
        .arg("--force")
        .assert()
        .success();
    assert!(Path::new(&config).is_file());
}

#[test]
fn completions_for_bash() {
    stages()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_stages()"));
}

#[test]
fn every_command_help_shows_an_example() {
    let commands: &[&[&str]] = &[
        &["check"],
        &["graph"],
        &["plan"],
        &["schema"],
        &["init"],
        &["completions"],
        &["export-dockerfile"],
        &["import"],
        &["migrate"],
        &["build"],
        &["dockerfile"],
        &["dockerfile", "dump"],
        &["dockerfile", "outline"],
        &["dockerfile", "fmt"],
        &["dockerfile", "lint"],
        &["lint"],
        &["lock"],
        &["cache"],
        &["cache", "ls"],
        &["cache", "prune"],
        &["builders"],
        &["builders", "ls"],
    ];
    for command in commands {
        stages()
            .args(*command)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Example:"));
    }
}

#[test]
fn check_with_a_backend_reports_what_it_cannot_express() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("stages.toml");
    std::fs::write(
        &file,
        r#"[stages.app]
from = "busybox:stages-test"
steps = [
  { run = "make", mounts = [{ type = "cache", target = "/root/.cache" }] },
]
"#,
    )
    .expect("write stages.toml");
    stages()
        .arg("check")
        .arg("-f")
        .arg(&file)
        .assert()
        .success();
    stages()
        .arg("check")
        .arg("-f")
        .arg(&file)
        .args(["--backend", "native"])
        .assert()
        .success();
    stages()
        .arg("check")
        .arg("-f")
        .arg(&file)
        .args(["--backend", "dockerfile", "--message-format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "\"code\":\"stages::check::unsupported-feature\"",
        ))
        .stdout(predicate::str::contains("\"line\":4"));
}
