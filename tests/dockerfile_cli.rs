//! `stages dockerfile dump|outline|fmt` through the real binary.

use assert_cmd::Command;
use predicates::prelude::*;

fn stages() -> Command {
    Command::cargo_bin("stages").expect("binary built by cargo")
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("temp file");
    path
}

const MULTI: &str = "\
ARG GO=1.22
FROM golang:${GO} AS build
RUN --mount=type=cache,target=/root/.cache go build -o /out/app .

FROM build AS test
RUN go test ./...

FROM scratch AS app
COPY --from=build /out/app /app
ENTRYPOINT [\"/app\"]
";

#[test]
fn dump_prints_buildkit_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(&dir, "Dockerfile", MULTI);
    stages()
        .args(["dockerfile", "dump"])
        .arg(&file)
        .assert()
        .success()
        .stdout(
            "(arg \"GO=1.22\")\n\
             (from \"golang:${GO}\" \"AS\" \"build\")\n\
             (run [\"--mount=type=cache,target=/root/.cache\"] \"go build -o /out/app .\")\n\
             (from \"build\" \"AS\" \"test\")\n\
             (run \"go test ./...\")\n\
             (from \"scratch\" \"AS\" \"app\")\n\
             (copy [\"--from=build\"] \"/out/app\" \"/app\")\n\
             (entrypoint \"/app\")\n",
        );
}

#[test]
fn dump_reads_standard_input() {
    stages()
        .args(["dockerfile", "dump", "-"])
        .write_stdin("FROM a\nRUN echo hi\n")
        .assert()
        .success()
        .stdout("(from \"a\")\n(run \"echo hi\")\n");
}

#[test]
fn parse_errors_are_diagnostics_with_a_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(&dir, "Dockerfile", "FROM a\nENV PATH\n");
    stages()
        .args(["dockerfile", "dump"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "stages::dockerfile::missing-value",
        ))
        .stderr(predicate::str::contains("ENV must have two arguments"))
        .stderr(predicate::str::contains("Dockerfile:2:1"));
}

#[test]
fn outline_shows_stages_and_target_needs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(&dir, "Dockerfile", MULTI);
    let output = stages()
        .args([
            "dockerfile",
            "outline",
            "--format",
            "json",
            "--target",
            "app",
        ])
        .arg(&file)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&output).expect("json outline");
    assert_eq!(json["meta_args"], serde_json::json!(["GO=1.22"]));
    assert_eq!(json["stages"][1]["base_stage"], 0);
    assert_eq!(
        json["stages"][2]["copies_from"],
        serde_json::json!(["build"])
    );
    assert_eq!(json["target"]["needs"], serde_json::json!([0, 2]));
    stages()
        .args(["dockerfile", "outline", "--target", "ap"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean `app`?"));
}

#[test]
fn outline_reports_circular_dependencies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        &dir,
        "Dockerfile",
        "FROM a AS one\nCOPY --from=two /x /x\nFROM b AS two\nCOPY --from=one /y /y\n",
    );
    stages()
        .args(["dockerfile", "outline"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "circular dependency detected on stage: one",
        ));
}

#[test]
fn fmt_rewrites_then_check_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let messy = "from  alpine as base\nrun apk add curl \\\n    && echo done\n\n\nCOPY a b\n";
    let file = write(&dir, "Dockerfile", messy);
    stages()
        .args(["dockerfile", "fmt", "--check"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not in the canonical layout"));
    assert_eq!(
        std::fs::read_to_string(&file).expect("file"),
        messy,
        "--check changes nothing"
    );
    stages()
        .args(["dockerfile", "fmt"])
        .arg(&file)
        .assert()
        .success();
    let formatted = std::fs::read_to_string(&file).expect("file");
    assert_eq!(
        formatted,
        "FROM alpine as base\nRUN apk add curl \\\n    && echo done\nCOPY a b\n"
    );
    stages()
        .args(["dockerfile", "fmt", "--check"])
        .arg(&file)
        .assert()
        .success();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file left behind: {leftovers:?}"
    );
}

/// Flag values are read byte by byte (as Latin-1) like BuildKit does; fmt
/// writes them back as the bytes they were, so the file keeps its meaning
/// and a second fmt changes nothing.
#[test]
fn fmt_keeps_non_ascii_flag_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "FROM busybox\ncopy --chown=\"café\" a /b\nRUN --mount=type=cache,target=/é true\n";
    let file = write(&dir, "Dockerfile", text);
    let dump = |file: &std::path::Path| {
        let out = stages()
            .args(["dockerfile", "dump"])
            .arg(file)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let before = dump(&file);
    stages()
        .args(["dockerfile", "fmt"])
        .arg(&file)
        .assert()
        .success();
    let formatted = std::fs::read_to_string(&file).expect("file");
    assert_eq!(
        formatted,
        "FROM busybox\nCOPY --chown=café a /b\nRUN --mount=type=cache,target=/é true\n"
    );
    assert_eq!(dump(&file), before);
    stages()
        .args(["dockerfile", "fmt", "--check"])
        .arg(&file)
        .assert()
        .success();
}

/// The bytes 0xA0 and 0x85 are blanks to BuildKit's flag reader and also
/// the last byte of characters such as `à` or a no-break space: the flag
/// ends inside the character, and fmt must print it so that it still does.
#[test]
fn fmt_keeps_flags_that_end_inside_a_character() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "FROM busybox\n\
                RUN --mount=type=cache,target=/voilà true\n\
                RUN --mount=type=cache,target=/café,id=ą\u{a0}echo ok\n";
    let file = write(&dir, "Dockerfile", text);
    let dump = |file: &std::path::Path| {
        let out = stages()
            .args(["dockerfile", "dump"])
            .arg(file)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let before = dump(&file);
    assert!(before.contains("target=/voilÃ\""), "{before}");
    stages()
        .args(["dockerfile", "fmt"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(dump(&file), before);
    stages()
        .args(["dockerfile", "fmt", "--check"])
        .arg(&file)
        .assert()
        .success();
}

/// An escape followed by a carriage return and a blank is not a line
/// continuation to BuildKit, and the blanks are trimmed: the instruction
/// ends in the escape. fmt must keep it text, not make it a continuation.
#[test]
fn fmt_keeps_an_instruction_that_ends_in_the_escape() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(&dir, "Dockerfile", "FROM h\nRUN \\\r \nRUN true\n");
    let dump = |file: &std::path::Path| {
        let out = stages()
            .args(["dockerfile", "dump"])
            .arg(file)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let before = dump(&file);
    assert_eq!(before, "(from \"h\")\n(run \"\\\\\")\n(run \"true\")\n");
    stages()
        .args(["dockerfile", "fmt"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(dump(&file), before);
    stages()
        .args(["dockerfile", "fmt", "--check"])
        .arg(&file)
        .assert()
        .success();
}

/// Written back as text, a byte that is not UTF-8 would become U+FFFD and
/// change what BuildKit reads; fmt refuses the file and leaves it alone.
#[test]
fn fmt_refuses_a_file_that_is_not_utf8() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = b"FROM b\xffusybox\ncopy --from=\xc3 a b\n";
    let file = dir.path().join("Dockerfile");
    std::fs::write(&file, bytes).expect("temp file");
    stages()
        .args(["dockerfile", "fmt"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("stages::dockerfile::not-utf8"))
        .stderr(predicate::str::contains("1:7"));
    assert_eq!(std::fs::read(&file).expect("file"), bytes);
}

/// Every one of 60,000 continuation lines is indented anew: the diff
/// `--check` prints is found in bounded time (the smallest diff would cost
/// the square of the line count, minutes here).
#[test]
fn fmt_check_diffs_a_file_of_many_changed_lines_quickly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "FROM scratch\nARG a=b \\\n{}  a=b\n",
        "  a=b \\\n".repeat(60_000)
    );
    let file = write(&dir, "Dockerfile", &text);
    stages()
        .args(["dockerfile", "fmt", "--check"])
        .arg(&file)
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not in the canonical layout"))
        .stderr(predicate::str::contains("+    a=b \\"));
}

/// U+0800 is `E0 A0 80`: BuildKit ends the flag at its 0xA0 byte and the
/// command starts with the lone byte 0x80, which no UTF-8 text can hold;
/// fmt refuses the file instead of writing one that reads otherwise.
#[test]
fn fmt_refuses_a_flag_cut_that_no_text_can_print() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "FROM busybox\nrun --mount=type=cache,target=/\u{800}x true\n";
    let file = write(&dir, "Dockerfile", text);
    for check in [false, true] {
        let mut fmt = stages();
        fmt.args(["dockerfile", "fmt"]);
        if check {
            fmt.arg("--check");
        }
        fmt.arg(&file)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "stages::dockerfile::fmt-changes-meaning",
            ))
            .stderr(predicate::str::contains("Dockerfile:2:1"));
    }
    assert_eq!(std::fs::read_to_string(&file).expect("file"), text);
}

#[test]
fn fmt_refuses_files_buildkit_rejects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "FROM a\nCOPY --form=x a b\n";
    let file = write(&dir, "Dockerfile", text);
    stages()
        .args(["dockerfile", "fmt"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "unknown flag: --form (did you mean from?)",
        ));
    assert_eq!(std::fs::read_to_string(&file).expect("file"), text);
}

#[test]
fn missing_file_is_a_usage_error() {
    stages()
        .args(["dockerfile", "dump", "/nonexistent/Dockerfile"])
        .assert()
        .code(2);
}
