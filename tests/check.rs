//! Every file in tests/check/invalid/ is a broken stages.toml. Its first
//! lines name the codes it must produce (`# code: …`); the whole rendered
//! report is a snapshot. Files named `warn-*` must check without errors.

use std::path::{Path, PathBuf};

use stages::check::check;
use stages::diagnostics::{SourceFile, Style, render_human};

fn invalid_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn at_least_forty_invalid_files() {
    assert!(invalid_files().len() >= 40, "{}", invalid_files().len());
}

#[test]
fn invalid_files_report_their_codes() {
    for path in invalid_files() {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("test file is readable");
        let file = SourceFile::new(format!("{stem}.toml"), text.as_str());
        let outcome = check(&file);
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# code: "))
            .collect();
        assert!(!expected.is_empty(), "{stem}: no `# code:` line");
        for code in &expected {
            assert!(
                outcome.diagnostics.iter().any(|d| d.code == *code),
                "{stem}: expected {code}, got {:?}",
                outcome.diagnostics
            );
        }
        for diagnostic in &outcome.diagnostics {
            assert!(
                !diagnostic.labels.is_empty() || diagnostic.code == "stages::check::no-stages",
                "{stem}: {} has no label",
                diagnostic.code
            );
            assert!(
                diagnostic.help.is_some(),
                "{stem}: {} has no help",
                diagnostic.code
            );
        }
        if stem.starts_with("warn-") {
            assert!(!outcome.has_errors(), "{stem}: {:?}", outcome.diagnostics);
            assert!(outcome.project.is_some(), "{stem}");
        } else {
            assert!(outcome.has_errors(), "{stem}: no error");
            assert!(outcome.project.is_none(), "{stem}");
        }
        let rendered = render_human(&file, &outcome.diagnostics, Style::Plain);
        insta::with_settings!({
            snapshot_path => "check/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(stem.as_str(), rendered);
        });
    }
}
