//! Inputs built to exhaust: an endless file, `${…}` nested thousands
//! deep, thousands of continuation lines, thousands of errors on one line.
//! Each is refused or handled in bounded time and output, never by a
//! crash, a stack overflow or a hang.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;

/// Generous: each case runs in a few seconds in a debug build; the bound
/// only turns a hang into a failure.
const HANG: Duration = Duration::from_secs(90);

fn stages(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("stages")
        .expect("binary")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .timeout(HANG)
        .output()
        .expect("ran")
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[cfg(unix)]
#[test]
fn an_endless_input_is_refused_by_every_reader() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["check", "-f", "/dev/zero"][..],
        &["plan", "-f", "/dev/zero"],
        &["dockerfile", "dump", "/dev/zero"],
        &["dockerfile", "fmt", "/dev/zero"],
        &["import", "/dev/zero", "-o", "-"],
    ] {
        let output = stages(dir.path(), args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("larger than 8 MiB"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn expansions_nested_thousands_deep_are_refused_by_check_and_build() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = format!("{}x{}", "${A:-".repeat(5_000), "}".repeat(5_000));
    std::fs::write(
        dir.path().join("stages.toml"),
        format!(
            "[stages.a]\nfrom = \"busybox:stages-test\"\nenv = {{ B = \"{nested}\" }}\n\n[targets.t]\nstage = \"a\"\n"
        ),
    )
    .expect("write");
    for args in [&["check"][..], &["build", "--backend", "native"]] {
        let output = stages(dir.path(), args);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {text}");
        assert!(text.contains("stages::config::nested-too-deep"), "{text}");
        assert!(text.contains("stages.toml:3:13"), "{text}");
    }
}

/// `KEYWORD` over `lines` continuation lines of one word each.
fn continued(keyword: &str, word: &str, lines: usize, last: &str) -> String {
    let mut text = format!("FROM busybox\n{keyword} \\\n");
    for i in 0..lines {
        text.push_str(&format!("  {}{} \\\n", word, i % 60_000 + 1));
    }
    text.push_str(&format!("  {last}\n"));
    text
}

#[test]
fn continuation_lines_of_many_arguments_parse_in_linear_time() {
    // 320,000 lines: a few seconds when linear; many minutes when each
    // argument searched the parts from the first.
    let dir = tempfile::tempdir().expect("temp dir");
    for (keyword, word, last) in [("COPY", "f", "/dst"), ("ARG", "a", "z")] {
        let text = continued(keyword, word, 320_000, last);
        std::fs::write(dir.path().join("Dockerfile"), &text).expect("write");
        let output = stages(dir.path(), &["dockerfile", "dump", "Dockerfile"]);
        assert!(output.status.success(), "{keyword}: {}", stderr(&output));
        let dump = String::from_utf8_lossy(&output.stdout);
        assert!(dump.contains(&format!("\"{word}60000\"")), "{keyword}");
    }
}

#[test]
fn thousands_of_errors_on_one_line_are_counted_not_all_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let words = vec!["x"; 2_000].join(" ");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM busybox\nEXPOSE {words}\n"),
    )
    .expect("write");
    let output = stages(dir.path(), &["import", "-o", "-"]);
    let text = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        &text[..text.len().min(3000)]
    );
    // The report, then the stages.toml that did not check.
    let report = text.split("#:schema").next().unwrap_or_default();
    assert_eq!(report.matches("is not a port Docker can expose").count(), 5);
    assert!(
        report.contains("1995 more stages::check::invalid-port on line"),
        "{report}"
    );
    assert!(report.len() < 10_000, "{} bytes", report.len());
}
