//! `stages lint` and `stages dockerfile lint` on the command line: exit
//! codes, `--skip`, `--error-on-warning`, the three formats (SARIF checked
//! against the SARIF 2.1.0 schema), and lint's warnings in `stages check`.
//! The Engine address points nowhere, so no base image is known.

use std::path::Path;

use assert_cmd::Command;

fn stages() -> Command {
    let mut cmd = Command::cargo_bin("stages").expect("binary builds");
    cmd.env("DOCKER_HOST", "unix:///nonexistent/stages-lint-test.sock")
        .env("NO_COLOR", "1");
    cmd
}

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lint")
        .join(path)
        .display()
        .to_string()
}

fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn warnings_exit_zero_unless_error_on_warning() {
    let file = fixture("dockerfile/JSONArgsRecommended.Dockerfile");
    let (code, _, stderr) = output(stages().args(["dockerfile", "lint", &file]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("stages::lint::JSONArgsRecommended"),
        "{stderr}"
    );
    let (code, _, _) = output(stages().args(["dockerfile", "lint", &file, "--error-on-warning"]));
    assert_eq!(code, 1);
    let (code, _, stderr) = output(stages().args([
        "dockerfile",
        "lint",
        &file,
        "--error-on-warning",
        "--skip",
        "JSONArgsRecommended",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let clean = fixture("dockerfile/JSONArgsRecommended.ok.Dockerfile");
    let (code, _, stderr) =
        output(stages().args(["dockerfile", "lint", &clean, "--error-on-warning"]));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn an_unknown_rule_to_skip_is_a_usage_error() {
    let file = fixture("dockerfile/JSONArgsRecommended.Dockerfile");
    let (code, _, stderr) =
        output(stages().args(["dockerfile", "lint", &file, "--skip", "JsonArgsRecommended"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("did you mean `JSONArgsRecommended`"),
        "{stderr}"
    );
}

#[test]
fn json_is_one_object_per_line() {
    let file = fixture("dockerfile/ExposeInvalidFormat.Dockerfile");
    let (code, stdout, _) =
        output(stages().args(["dockerfile", "lint", &file, "--message-format", "json"]));
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["code"], "stages::lint::ExposeInvalidFormat");
    assert_eq!(lines[0]["line"], 2);
    assert_eq!(lines[0]["severity"], "warning");
}

fn sarif_validator() -> (boon::Schemas, boon::SchemaIndex) {
    let text = std::fs::read_to_string(fixture("sarif-schema-2.1.0.json")).expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    let url = schema["$id"]
        .as_str()
        .expect("schema has an $id")
        .to_owned();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(&url, schema).expect("schema loads");
    let index = compiler
        .compile(&url, &mut schemas)
        .expect("schema compiles");
    (schemas, index)
}

#[test]
fn sarif_is_valid_sarif_2_1_0() {
    let (schemas, index) = sarif_validator();
    for (command, file) in [
        ("dockerfile", fixture("dockerfile/UndefinedVar.Dockerfile")),
        (
            "dockerfile",
            fixture("dockerfile/UndefinedVar.ok.Dockerfile"),
        ),
        ("toml", fixture("toml/ArtifactOverwritten.toml")),
    ] {
        let mut cmd = stages();
        if command == "dockerfile" {
            cmd.args(["dockerfile", "lint", &file]);
        } else {
            cmd.args(["lint", "-f", &file]);
        }
        let (code, stdout, stderr) = output(cmd.args(["--message-format", "sarif"]));
        assert_eq!(code, 0, "{stderr}");
        let log: serde_json::Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
        if let Err(error) = schemas.validate(&log, index) {
            panic!("{file}: not valid SARIF 2.1.0: {error:#}\n{stdout}");
        }
        let results = log["runs"][0]["results"].as_array().expect("results");
        if file.contains(".ok.") {
            assert!(results.is_empty(), "{stdout}");
        } else {
            assert!(!results.is_empty(), "{stdout}");
            assert!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64());
        }
    }
    // The validator does refuse what is not SARIF.
    let bad = serde_json::json!({ "version": "2.1.0", "runs": [{ "results": [] }] });
    assert!(schemas.validate(&bad, index).is_err());
}

#[test]
fn lint_on_stages_toml_and_in_check() {
    let file = fixture("toml/WorkdirRelativePath.toml");
    let (code, _, stderr) = output(stages().args(["lint", "-f", &file]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("stages::lint::WorkdirRelativePath"),
        "{stderr}"
    );
    let (code, _, stderr) = output(stages().args(["check", "-f", &file]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("stages::lint::WorkdirRelativePath"),
        "{stderr}"
    );
    let (code, _, stderr) = output(stages().args(["check", "-f", &file, "--no-lint"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("stages::lint::"), "{stderr}");
}

#[test]
fn lint_settings_can_make_findings_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stages.toml");
    std::fs::write(
        &path,
        "[lint]\nerror = true\nskip = [\"ExposeProtoCasing\", \"NoSuchRule\"]\n\n[stages.app]\nfrom = \"alpine:3.20\"\nworkdir = \"app\"\nexpose = [\"80/TCP\"]\n",
    )
    .expect("write");
    let path = path.display().to_string();
    let (code, _, stderr) = output(stages().args(["lint", "-f", &path]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("stages::lint::unknown-rule"), "{stderr}");
    assert!(
        stderr.contains("stages::lint::WorkdirRelativePath"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("stages::lint::ExposeProtoCasing"),
        "{stderr}"
    );
}

/// `(rule, line)` of each finding of `stages dockerfile lint FILE` in `dir`.
fn dockerfile_findings(dir: &Path, file: &str) -> Vec<(String, u64)> {
    let (code, stdout, stderr) = output(stages().current_dir(dir).args([
        "dockerfile",
        "lint",
        file,
        "--message-format",
        "json",
    ]));
    assert_eq!(code, 0, "{stderr}");
    stdout
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).expect("json line");
            let code = json["code"].as_str().unwrap_or_default();
            (
                code.rsplit("::").next().unwrap_or_default().to_owned(),
                json["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn dockerfile_lint_reads_the_dockerignore_beside_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write(
        "Dockerfile",
        "FROM busybox\nCOPY app.conf /etc/\nCOPY secret.txt /etc/\nADD build/out.tar /opt/\n",
    );
    write(".dockerignore", "secret.txt\nbuild\n");
    let ignored = |found: Vec<(String, u64)>| -> Vec<u64> {
        found
            .into_iter()
            .filter(|(rule, _)| rule == "CopyIgnoredFile")
            .map(|(_, line)| line)
            .collect()
    };
    assert_eq!(
        ignored(dockerfile_findings(dir.path(), "Dockerfile")),
        [3, 4]
    );
    // `Dockerfile.dockerignore` comes first, as in BuildKit.
    write("Dockerfile.dockerignore", "app.conf\n");
    assert_eq!(ignored(dockerfile_findings(dir.path(), "Dockerfile")), [2]);
    // A file that re-includes is not checked, as in BuildKit.
    write("Dockerfile.dockerignore", "build\n!build/out.tar\n");
    assert!(ignored(dockerfile_findings(dir.path(), "Dockerfile")).is_empty());
}

/// `--build-arg BUILDKIT_DOCKERFILE_CHECK=…` replaces the file's `# check=`
/// directive, as `docker build --build-arg` does; other build arguments
/// and a setting BuildKit cannot read are usage errors.
#[test]
fn the_check_build_argument_replaces_the_directive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("Dockerfile");
    std::fs::write(
        &path,
        "#check=skip=all\nFROM scratch as base\ncopy Dockerfile .\n",
    )
    .expect("write");
    let path = path.display().to_string();
    let (code, _, stderr) = output(stages().args(["dockerfile", "lint", &path]));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("stages::lint::"), "{stderr}");
    let setting = "BUILDKIT_DOCKERFILE_CHECK=skip=ConsistentInstructionCasing;error=true";
    let (code, _, stderr) =
        output(stages().args(["dockerfile", "lint", &path, "--build-arg", setting]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("stages::lint::FromAsCasing"), "{stderr}");
    assert!(
        !stderr.contains("stages::lint::ConsistentInstructionCasing"),
        "{stderr}"
    );
    let (code, _, stderr) =
        output(stages().args(["dockerfile", "lint", &path, "--build-arg", "VERSION=1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("BUILDKIT_DOCKERFILE_CHECK"), "{stderr}");
    let (code, _, stderr) = output(stages().args([
        "dockerfile",
        "lint",
        &path,
        "--build-arg",
        "BUILDKIT_DOCKERFILE_CHECK=error=maybe",
    ]));
    assert_eq!(code, 2);
    assert!(stderr.contains("error=maybe"), "{stderr}");
    // On stages.toml it takes the place of `[lint]`.
    let toml = fixture("toml/WorkdirRelativePath.toml");
    let (code, _, stderr) = output(stages().args([
        "lint",
        "-f",
        &toml,
        "--build-arg",
        "BUILDKIT_DOCKERFILE_CHECK=error=true",
    ]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("stages::lint::WorkdirRelativePath"),
        "{stderr}"
    );
}

/// A file with an unknown instruction: the findings BuildKit reports
/// before it stops (those it checks while reading the instructions before
/// it), then the error; exit 1.
#[test]
fn an_unknown_instruction_comes_after_the_findings_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("Dockerfile");
    std::fs::write(
        &path,
        "\nFROM scratch AS BadStageName\nMAINTAINER me@example.org\nBADCMD\nFROM scratch AS Late\n",
    )
    .expect("write");
    let path = path.display().to_string();
    let (code, stdout, stderr) =
        output(stages().args(["dockerfile", "lint", &path, "--message-format", "json"]));
    assert_eq!(code, 1, "{stderr}");
    let found: Vec<(String, u64)> = stdout
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).expect("json line");
            (
                json["code"].as_str().unwrap_or_default().to_owned(),
                json["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let rules: Vec<(&str, u64)> = found
        .iter()
        .map(|(code, line)| (code.rsplit("::").next().unwrap_or_default(), *line))
        .collect();
    assert_eq!(
        rules[..2],
        [("StageNameCasing", 2), ("MaintainerDeprecated", 3)]
    );
    assert_eq!(found.len(), 3, "{stdout}");
    assert_eq!(
        found[2].1, 4,
        "the error is on the unknown instruction: {stdout}"
    );
    assert!(!found[2].0.starts_with("stages::lint::"), "{stdout}");
}
