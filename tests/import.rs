//! `stages import` end to end: output that checks, the overwrite guard,
//! nothing written on errors, diagnostics for parse and import errors.

use assert_cmd::Command;
use predicates::prelude::*;

const DOCKERFILE: &str = "\
# syntax=docker/dockerfile:1
ARG VERSION=1.0
# compile
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app .

FROM alpine
COPY --from=build /out/app /usr/local/bin/app
CMD [\"app\"]
";

fn dir_with(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("write");
    dir
}

fn stages(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("stages").expect("binary");
    cmd.current_dir(dir.path());
    cmd
}

#[test]
fn writes_a_config_that_checks_and_exports_back() {
    let dir = dir_with(DOCKERFILE);
    std::fs::write(dir.path().join(".dockerignore"), "target\n").expect("write");
    stages(&dir).arg("import").assert().success();
    let toml = std::fs::read_to_string(dir.path().join("stages.toml")).expect("written");
    // The schema line points at a file that exists: import wrote it.
    assert!(
        toml.starts_with("#:schema ./stages.schema.json\n"),
        "{toml}"
    );
    let schema = std::fs::read_to_string(dir.path().join("stages.schema.json")).expect("schema");
    assert!(schema.contains("\"title\": \"stages.toml\""), "{schema}");
    assert!(
        toml.contains(".dockerignore sits beside the Dockerfile"),
        "{toml}"
    );
    assert!(toml.contains("# compile\n[stages.build]"), "{toml}");
    assert!(toml.contains("[artifacts.app]"), "{toml}");
    stages(&dir).arg("check").assert().success();
    let out = stages(&dir)
        .args(["export-dockerfile", "--all-stages"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("COPY --from=build /out/app /usr/local/bin/app"),
        "{text}"
    );
}

#[test]
fn no_artifacts_keeps_plain_copies() {
    let dir = dir_with(DOCKERFILE);
    let out = stages(&dir)
        .args(["import", "-o", "-", "--no-artifacts"])
        .assert()
        .success();
    let toml = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(!toml.contains("[artifacts"), "{toml}");
    assert!(
        toml.contains(r#"{ copy = "/out/app", to = "/usr/local/bin/app", from = "build" }"#),
        "{toml}"
    );
}

#[test]
fn refuses_to_overwrite_without_force() {
    let dir = dir_with(DOCKERFILE);
    std::fs::write(dir.path().join("stages.toml"), "# mine\n").expect("write");
    stages(&dir)
        .arg("import")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("stages.toml")).expect("read"),
        "# mine\n"
    );
    stages(&dir).args(["import", "--force"]).assert().success();
}

#[test]
fn unconvertible_instructions_are_reported_and_nothing_is_written() {
    let dir = dir_with(
        "FROM alpine AS base\n\nFROM alpine\nARG KIND=cache\nRUN --mount=type=cache,target=/c,bogus=1 true\n",
    );
    stages(&dir).arg("import").assert().code(1).stderr(
        predicate::str::contains("stages::import::unsupported")
            .and(predicate::str::contains("the mount option `bogus`")),
    );
    assert!(!dir.path().join("stages.toml").exists());
}

#[test]
fn parse_errors_are_diagnostics_and_nothing_is_written() {
    for text in ["FROM busybox\n\nENV PATH\n", "", "# only a comment\n"] {
        let dir = dir_with(text);
        stages(&dir)
            .arg("import")
            .assert()
            .code(1)
            .stderr(predicate::str::contains("stages::"));
        assert!(!dir.path().join("stages.toml").exists(), "{text:?}");
    }
    let dir = dir_with("FROM busybox\n\nENV PATH\n");
    stages(&dir)
        .arg("import")
        .assert()
        .stderr(predicate::str::contains("Dockerfile:3"));
}

#[path = "corpus/mod.rs"]
mod corpus;

/// The stages.toml written for a few corpus Dockerfiles (golden files).
#[test]
fn corpus_imports_as_recorded() {
    let Some(root) = corpus::root() else {
        return;
    };
    let files = [
        "builder-pattern/alexellis__href-counter/Dockerfile.multi",
        "real/GoogleContainerTools__distroless__examples__rust__Dockerfile",
        "real/docker__awesome-compose__react-rust-postgres__backend__Dockerfile",
        "real/kubernetes-sigs__kind__images__kindnetd__Dockerfile",
    ];
    for file in files {
        let text = std::fs::read_to_string(root.join(file)).expect("corpus file");
        let dir = dir_with(&text);
        let out = stages(&dir).args(["import", "-o", "-"]).assert().success();
        let toml = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        let name = file.rsplit('/').next().unwrap_or(file).replace("__", "-");
        insta::assert_snapshot!(format!("import-{name}"), toml);
    }
}

/// BuildKit reads flag bytes as Latin-1; the import must store the text as
/// written, so that import → export → import gives the same project.
#[test]
fn non_ascii_flag_values_survive_the_round_trip() {
    let dockerfile = "\
FROM busybox:stages-test
COPY --chown=café:ünï a /b/
RUN --mount=type=cache,target=/cache/é,id=ñ true
";
    let dir = dir_with(dockerfile);
    let first = stages(&dir)
        .args(["import", "-o", "stages.toml"])
        .assert()
        .success();
    drop(first);
    let toml = std::fs::read_to_string(dir.path().join("stages.toml")).expect("written");
    assert!(toml.contains("chown = \"café:ünï\""), "{toml}");
    assert!(toml.contains("target = \"/cache/é\""), "{toml}");
    assert!(toml.contains("id = \"ñ\""), "{toml}");
    let out = stages(&dir)
        .args(["export-dockerfile", "--all-stages"])
        .assert()
        .success();
    let exported = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(exported.contains("--chown=café:ünï"), "{exported}");
    std::fs::write(dir.path().join("Dockerfile.exported"), &exported).expect("write");
    let again = stages(&dir)
        .args(["import", "Dockerfile.exported", "-o", "-"])
        .assert()
        .success();
    let again = String::from_utf8_lossy(&again.get_output().stdout).into_owned();
    // The same project; only the comments on top differ.
    let body = |t: &str| t.find("[stages.").map(|at| t[at..].to_owned());
    assert_eq!(body(&again), body(&toml));
}

/// An ARG that repeats a name becomes several steps; the comment above it
/// is written once, above the first, not once per step (a long comment
/// over thousands of repeats made a gigabyte of copies).
#[test]
fn a_comment_above_an_instruction_split_at_repeated_names_is_written_once() {
    let dir = dir_with("FROM busybox\nRUN true\n# why the args\nARG a=1 a=2 b=3 a=4\n");
    let out = stages(&dir).args(["import", "-o", "-"]).assert().success();
    let toml = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(toml.matches("# why the args").count(), 1, "{toml}");
    assert!(
        toml.contains(
            "  # why the args\n  { arg = { a = \"1\" } },\n  { arg = { a = \"2\", b = \"3\" } },\n  { arg = { a = \"4\" } },\n"
        ),
        "{toml}"
    );
}

#[test]
fn reads_the_dockerfile_from_standard_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = stages(&dir)
        .args(["import", "-", "-o", "-"])
        .write_stdin(DOCKERFILE)
        .assert()
        .success();
    let toml = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        toml.contains("# Imported from standard input by `stages import`."),
        "{toml}"
    );
    assert!(toml.contains("[artifacts.app]"), "{toml}");
    let from_file = dir_with(DOCKERFILE);
    let file_out = stages(&from_file)
        .args(["import", "-o", "-"])
        .assert()
        .success();
    let file_toml = String::from_utf8_lossy(&file_out.get_output().stdout).into_owned();
    // Only the line naming the input differs.
    assert_eq!(
        toml.replace("standard input", "Dockerfile"),
        file_toml,
        "stdin and file imports differ"
    );
}

#[test]
fn import_and_export_say_what_they_wrote() {
    let dir = dir_with(DOCKERFILE);
    stages(&dir)
        .args(["import", "-o", "stages.toml"])
        .assert()
        .success()
        // With no schema around, import writes one for the `#:schema` line.
        .stderr("wrote ./stages.schema.json\nwrote stages.toml\n");
    stages(&dir)
        .args(["export-dockerfile", "--all-stages", "-o", "Dockerfile.out"])
        .assert()
        .success()
        .stderr("wrote Dockerfile.out\n");
    assert!(dir.path().join("Dockerfile.out").is_file());
    // Standard output carries the file itself and nothing else.
    stages(&dir)
        .args(["import", "-o", "-"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn the_schema_line_points_at_an_existing_schema() {
    // A schema where `stages schema -o schema/stages.schema.json` puts it is used, not rewritten.
    let dir = dir_with(DOCKERFILE);
    std::fs::create_dir(dir.path().join("schema")).expect("mkdir");
    std::fs::write(dir.path().join("schema/stages.schema.json"), "{}").expect("write");
    stages(&dir).arg("import").assert().success();
    let toml = std::fs::read_to_string(dir.path().join("stages.toml")).expect("written");
    assert!(
        toml.starts_with("#:schema ./schema/stages.schema.json\n"),
        "{toml}"
    );
    assert!(!dir.path().join("stages.schema.json").exists());
    // To stdout with no schema around, no line points at a missing file.
    let bare = dir_with(DOCKERFILE);
    let out = stages(&bare).args(["import", "-o", "-"]).assert().success();
    let toml = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(!toml.contains("#:schema"), "{toml}");
    assert!(!bare.path().join("stages.schema.json").exists());
}

/// A Dockerfile with several final stages gets a target for each, the
/// last stage the default, so `check` has nothing to warn about.
#[test]
fn several_final_stages_become_targets() {
    let dir = dir_with(
        "FROM alpine AS base\nRUN echo base\n\nFROM base AS tool\nRUN echo tool\n\nFROM base AS docs\nRUN echo docs\n\nFROM base AS app\nRUN echo app\n",
    );
    stages(&dir).arg("import").assert().success();
    let toml = std::fs::read_to_string(dir.path().join("stages.toml")).expect("written");
    assert!(toml.contains("default-target = \"app\""), "{toml}");
    for name in ["tool", "docs", "app"] {
        assert!(
            toml.contains(&format!("[targets.{name}]\nstage = \"{name}\"")),
            "{toml}"
        );
    }
    assert!(!toml.contains("[targets.base]"), "{toml}");
    stages(&dir)
        .arg("check")
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
}
