//! Diagnostics on very long lines: every command that reads a stages.toml
//! or a Dockerfile reports them (the line cut to a window around the label)
//! instead of panicking, and the report stays small.

use std::path::Path;

use assert_cmd::Command;

/// More than any formatting width miette can pad to (65,535).
const LONG: usize = 70_000;

/// Runs `stages args…` in `dir`; the exit code and standard error.
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::cargo_bin("stages")
        .expect("binary")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("ran");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_reported(args: &[&str], (code, stderr): (Option<i32>, String), needle: &str) {
    assert_eq!(
        code,
        Some(1),
        "{args:?}: {}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
    // The label is shown where it belongs, with the line cut around it.
    assert!(stderr.contains('…'), "{args:?}: {stderr}");
    assert!(stderr.len() < 4_000, "{args:?}: {} bytes", stderr.len());
}

#[test]
fn a_config_error_past_column_65535_is_reported_by_every_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let toml = format!(
        "[stages.a]\nfrom = \"alpine\"\nsteps = [{{ run = \"{}\", bogus = 1 }}]\n",
        "A".repeat(LONG)
    );
    std::fs::write(dir.path().join("stages.toml"), toml).expect("write");
    for args in [
        &["check"][..],
        &["plan"],
        &["graph"],
        &["export-dockerfile", "-o", "-"],
        &["build"],
    ] {
        let outcome = run(dir.path(), args);
        assert_reported(args, outcome, "── not a key this table takes");
        let stderr = run(dir.path(), args).1;
        assert!(stderr.contains("stages.toml:3:"), "{stderr}");
        assert!(stderr.contains("\", bogus = 1 }]"), "{stderr}");
    }
}

#[test]
fn a_dockerfile_of_one_long_comment_is_reported_by_every_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("#{}\n", "x".repeat(LONG)),
    )
    .expect("write");
    for args in [
        &["dockerfile", "dump", "Dockerfile"][..],
        &["dockerfile", "outline", "Dockerfile"],
        &["dockerfile", "fmt", "Dockerfile"],
        &["import", "-o", "-"],
    ] {
        let outcome = run(dir.path(), args);
        assert_reported(args, outcome, "no instruction before the end of the file");
    }
}

#[test]
fn an_instruction_error_at_the_end_of_a_long_line_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM alpine\nCOPY {} /dst --bogus=1\n", "a".repeat(LONG)),
    )
    .expect("write");
    let (code, stderr) = run(dir.path(), &["import", "-o", "-"]);
    assert_eq!(code, Some(1), "{}", &stderr[..stderr.len().min(2000)]);
    // Refused on the Dockerfile's line, elided around the span.
    assert!(
        stderr.contains("it starts with `--`, which a Dockerfile reads as a flag"),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(stderr.len() < 4_000, "{} bytes", stderr.len());
}
