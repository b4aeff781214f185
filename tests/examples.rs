//! Every example checks and lints clean, and its plan and graph are snapshots.

use std::path::PathBuf;

use assert_cmd::Command;

const EXAMPLES: &[&str] = &[
    "href-counter",
    "python-wheels",
    "multi-runtime",
    "stage-chain",
    "external-image",
    "artifacts-to-host",
];

fn run(args: &[&str], example: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(example);
    let output = Command::cargo_bin("stages")
        .expect("the stages binary is built")
        .current_dir(&dir)
        .args(args)
        .output()
        .expect("stages runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{example}: {args:?}: {stderr}");
    assert!(stderr.is_empty(), "{example}: {args:?} printed: {stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn examples_check_clean_and_start_with_the_schema_line() {
    for example in EXAMPLES {
        let out = run(&["check"], example);
        assert!(out.contains("0 errors, 0 warnings"), "{example}: {out}");
        let out = run(&["lint"], example);
        assert!(out.contains("0 errors, 0 warnings"), "{example}: {out}");
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example)
            .join("stages.toml");
        let text = std::fs::read_to_string(path).expect("example is readable");
        assert!(
            text.starts_with("#:schema ../../schema/stages.schema.json\n"),
            "{example}"
        );
    }
}

#[test]
fn plan_and_graph_snapshots() {
    for example in EXAMPLES {
        insta::with_settings!({
            snapshot_path => "examples/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{example}-plan"), run(&["plan"], example));
            insta::assert_snapshot!(format!("{example}-graph"), run(&["graph"], example));
            insta::assert_snapshot!(format!("{example}-graph-mermaid"), run(&["graph", "--format", "mermaid"], example));
        });
    }
}
