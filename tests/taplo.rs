//! Taplo, the TOML language server's CLI, validates files against the
//! generated schema the way editors do: every example must pass, and files
//! with unknown keys or wrong types must fail. Without `taplo` on PATH or in
//! ~/.cargo/bin the tests fail whenever `CI` is set (to anything but empty,
//! `0` or `false`: CI services set `true`, `1` or `True`) and are skipped
//! (with a notice) otherwise. Every check also counts what it ran, so that
//! a test cannot pass having checked nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn taplo() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .map(|dir| dir.join("taplo"))
            .collect::<Vec<_>>()
    });
    let in_cargo = std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo/bin/taplo"));
    on_path
        .chain(in_cargo)
        .find(|candidate| candidate.is_file())
}

/// Whether the environment says this is a CI run.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| ci_value_means_ci(&v))
}

/// CI services set `CI` to `true`, `1` or `True`; only empty, `0` and
/// `false` mean no.
fn ci_value_means_ci(value: &str) -> bool {
    !value.is_empty() && value != "0" && !value.eq_ignore_ascii_case("false")
}

/// Taplo, or `None` outside CI (after a notice); under CI its absence fails the test.
fn require_taplo(what: &str) -> Option<PathBuf> {
    let found = taplo();
    if found.is_none() {
        assert!(
            !under_ci(),
            "taplo is required under CI (CI is set): cargo install --locked taplo-cli"
        );
        eprintln!("notice: taplo not found; skipping {what} (cargo install --locked taplo-cli)");
    }
    found
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn taplo_check(taplo: &Path, file: &Path) -> (bool, String) {
    let schema = format!(
        "file://{}",
        root().join("schema/stages.schema.json").display()
    );
    let output = Command::new(taplo)
        .args(["check", "--schema", &schema])
        .arg(file)
        .env("RUST_LOG", "warn")
        .output()
        .expect("taplo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn taplo_validates_examples_and_rejects_bad_shapes() {
    let Some(taplo) = require_taplo("the schema check") else {
        return;
    };
    let examples = std::fs::read_dir(root().join("examples")).expect("examples dir");
    let mut checked = 0;
    for entry in examples.filter_map(Result::ok) {
        let file = entry.path().join("stages.toml");
        if file.is_file() {
            let (ok, text) = taplo_check(&taplo, &file);
            assert!(ok, "{}: {text}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} examples");
    let mut rejected = 0;
    for bad in [
        "unknown-key-in-stage",
        "unknown-key-at-top",
        "unknown-key-in-step",
        "type-from-number",
        "type-steps-not-array",
        "type-tags-string",
    ] {
        let file = root()
            .join("tests/check/invalid")
            .join(format!("{bad}.toml"));
        assert!(file.is_file(), "{} is missing", file.display());
        let (ok, text) = taplo_check(&taplo, &file);
        assert!(!ok, "taplo accepted {bad}: {text}");
        rejected += 1;
    }
    assert_eq!(rejected, 6);
}

#[test]
fn ci_is_read_as_ci_runs_set_it() {
    for (value, ci) in [
        ("true", true),
        ("1", true),
        ("True", true),
        ("", false),
        ("false", false),
        ("0", false),
    ] {
        assert_eq!(ci_value_means_ci(value), ci, "CI={value:?}");
    }
}

#[test]
fn taplo_follows_the_schema_comment() {
    let Some(taplo) = require_taplo("the schema-comment check") else {
        return;
    };
    let bare = |file: &Path| {
        Command::new(&taplo)
            .arg("check")
            .arg(file)
            .env("RUST_LOG", "warn")
            .output()
            .expect("taplo runs")
            .status
            .success()
    };
    let example = root().join("examples/href-counter/stages.toml");
    assert!(example.is_file(), "{} is missing", example.display());
    assert!(bare(&example));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("stages.toml");
    let schema = root().join("schema/stages.schema.json");
    std::fs::write(
        &file,
        format!(
            "#:schema file://{}\n[stages.a]\nfrm = \"alpine\"\n",
            schema.display()
        ),
    )
    .expect("write");
    assert!(!bare(&file), "an unknown key passed the schema");
}
