//! Taplo, the TOML language server's CLI, validates files against the
//! generated schema the way editors do: every example must pass, and files
//! with unknown keys or wrong types must fail. Without `taplo` on PATH or in
//! ~/.cargo/bin the test fails under CI=true and is skipped (with a notice)
//! otherwise.

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
    let Some(taplo) = taplo() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "taplo is required under CI: cargo install --locked taplo-cli"
        );
        eprintln!(
            "notice: taplo not found; skipping the schema check (cargo install --locked taplo-cli)"
        );
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
        let (ok, text) = taplo_check(&taplo, &file);
        assert!(!ok, "taplo accepted {bad}: {text}");
    }
}

#[test]
fn taplo_follows_the_schema_comment() {
    let Some(taplo) = taplo() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "taplo is required under CI: cargo install --locked taplo-cli"
        );
        eprintln!("notice: taplo not found; skipping the schema-comment check");
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
    assert!(bare(&root().join("examples/href-counter/stages.toml")));
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
