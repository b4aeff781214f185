//! `stages migrate` end to end: the three real builder-pattern cases of the
//! corpus, hand-written cases for each script variant (`tests/migrate/`),
//! golden stages.toml and warnings, and the write guards.

mod corpus;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use stages::diagnostics::SourceFile;
use stages::dockerfile::{Dockerfile, dump::dump_node, parse};

/// What one migration printed.
struct Output {
    stdout: String,
    stderr: String,
    success: bool,
}

fn migrate(dir: &Path, extra: &[&str]) -> Output {
    let output = Command::cargo_bin("stages")
        .expect("binary")
        .env("NO_COLOR", "1")
        .arg("migrate")
        .arg(dir)
        .args(extra)
        .output()
        .expect("stages runs");
    Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        success: output.status.success(),
    }
}

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/migrate")
        .join(name)
}

fn builder_case(name: &str) -> Option<PathBuf> {
    corpus::root().map(|root| root.join("builder-pattern").join(name))
}

/// The migrated stages.toml passes `stages check` without errors.
fn assert_checks(toml: &str) {
    let outcome = stages::check::check(&SourceFile::new("stages.toml", toml));
    assert!(
        !outcome.has_errors(),
        "migrated file has errors: {:?}\n{toml}",
        outcome.diagnostics
    );
}

fn snapshot(name: &str, output: &Output) {
    insta::with_settings!({ snapshot_path => "migrate/snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("{name}-toml"), output.stdout);
        insta::assert_snapshot!(format!("{name}-warnings"), output.stderr);
    });
}

/// Rendered diagnostics with miette's line wrapping undone.
fn unwrapped(rendered: &str) -> String {
    rendered
        .lines()
        .map(|line| {
            let line = line.trim_start();
            line.strip_prefix("│ ").unwrap_or(line)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Instructions as BuildKit reads them, with stage names replaced by
/// their index, so two files compare in substance.
fn normalized(file: &Dockerfile) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for node in &file.nodes {
        let mut node = node.clone();
        node.comments.clear();
        if node.name() == "from" {
            if let [_, keyword, name] = node.args.as_slice()
                && keyword.eq_ignore_ascii_case("as")
            {
                names.push(name.to_ascii_lowercase());
            } else {
                names.push(names.len().to_string());
            }
            node.args.truncate(1);
        }
        for flag in &mut node.flags {
            if let Some(from) = flag.strip_prefix("--from=")
                && let Some(index) = names.iter().position(|n| *n == from.to_ascii_lowercase())
            {
                *flag = format!("--from={index}").into();
            }
        }
        out.push(dump_node(&node));
    }
    out
}

#[test]
fn href_counter_exports_the_hand_written_multi_stage_dockerfile() {
    let Some(dir) = builder_case("alexellis__href-counter") else {
        return;
    };
    let output = migrate(
        &dir,
        &[
            "--script",
            "build-multi-dockerfiles.sh",
            "--emit",
            "dockerfile",
            "-o",
            "-",
        ],
    );
    assert!(output.success, "{}", output.stderr);
    let migrated = parse(&output.stdout).expect("the export parses");
    let expected_text =
        std::fs::read_to_string(dir.join("Dockerfile.multi")).expect("Dockerfile.multi");
    let expected = parse(&expected_text).expect("Dockerfile.multi parses");
    assert_eq!(normalized(&migrated), normalized(&expected));
    let copy = normalized(&migrated)
        .into_iter()
        .find(|line| line.starts_with("copy") && line.contains("--from=0"))
        .expect("the binary is copied from the builder");
    assert!(
        copy.contains("/go/src/github.com/alexellis/href-counter/app"),
        "{copy}"
    );
}

#[test]
fn href_counter_toml() {
    let Some(dir) = builder_case("alexellis__href-counter") else {
        return;
    };
    let output = migrate(
        &dir,
        &[
            "--script",
            "build-multi-dockerfiles.sh",
            "--target-name",
            "app",
            "-o",
            "-",
        ],
    );
    assert!(output.success, "{}", output.stderr);
    assert_checks(&output.stdout);
    assert!(output.stdout.contains("[targets.app]"));
    assert!(output.stdout.contains("{ artifact = \"app\", to = \".\" }"));
    snapshot("href-counter", &output);
}

#[test]
fn ibm_tiny_makefile_adds_the_extracted_binary() {
    let Some(dir) = builder_case("ibm-dojo__tiny") else {
        return;
    };
    let output = migrate(&dir, &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert_checks(&output.stdout);
    // `ADD hello hello` in the runtime Dockerfile now copies the artifact.
    assert!(
        output
            .stdout
            .contains("{ artifact = \"hello\", to = \"hello\" }"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("path = \"/hello\""));
    assert!(
        output
            .stdout
            .contains("Migrated from target `all` of Makefile")
    );
    // The smoke test at the end of the recipe is reported, not dropped.
    assert!(output.stderr.contains("stages::migrate::container-run"));
    snapshot("ibm-tiny", &output);
}

#[test]
fn thumbor_explains_the_run_time_wheelhouse() {
    let Some(dir) = builder_case("APSL__docker-thumbor") else {
        return;
    };
    let output = migrate(&dir, &["--script", "builder", "-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert_checks(&output.stdout);
    let stderr = &unwrapped(&output.stderr);
    assert!(
        stderr.contains("stages::migrate::run-time-output"),
        "{stderr}"
    );
    // Why: the wheels appear when a container runs, not while an image builds …
    assert!(stderr.contains("not while an image"), "{stderr}");
    // … and what to do: the image's CMD as a step, no VOLUME, an artifact.
    assert!(
        stderr.contains("pip wheel -r /requirements.txt"),
        "{stderr}"
    );
    assert!(
        stderr.contains("remove `/wheelhouse` from its `volumes`"),
        "{stderr}"
    );
    assert!(stderr.contains("[artifacts.wheelhouse]"), "{stderr}");
    // The wheels are then served over the network to the later builds.
    assert!(
        stderr.contains("stages::migrate::network-service"),
        "{stderr}"
    );
    assert!(output.stdout.contains("Left for a person to finish"));
    snapshot("thumbor", &output);
}

const CASES: &[&str] = &[
    "long-forms",
    "file-flags",
    "variables",
    "proxy-args",
    "makefile",
    "tar-pipe",
    "whole-directory",
    "not-migrated",
    "buildx-run-cat",
    "named-run",
    "start-created",
    "image-build",
    "tar-pipe-paths",
    "tar-pipe-find",
    "makefile-and-script",
    "artifact-only",
    "stdout-tarball",
    "make-subdir",
];

#[test]
fn hand_written_cases() {
    for case in CASES {
        let output = migrate(&case_dir(case), &["-o", "-"]);
        assert!(output.success, "{case}: {}", output.stderr);
        assert_checks(&output.stdout);
        snapshot(case, &output);
    }
}

#[test]
fn every_variant_becomes_an_artifact_copy() {
    let expectations: &[(&str, &str)] = &[
        (
            "long-forms",
            "{ artifact = \"api\", to = \"/usr/local/bin/api\", chmod = \"0755\" }",
        ),
        ("file-flags", "{ artifact = \"tool\", to = \"/tool\" }"),
        ("variables", "{ artifact = \"web\", to = \"./web\" }"),
        (
            "proxy-args",
            "{ artifact = \"server\", to = \"/usr/bin/server\" }",
        ),
        ("makefile", "{ artifact = \"hello\", to = \"/hello\" }"),
        (
            "tar-pipe",
            "{ artifact = \"public\", to = \"/usr/share/nginx/html/\" }",
        ),
        (
            "whole-directory",
            "{ artifact = \"html\", to = \"/usr/share/nginx/html\" }",
        ),
        (
            "buildx-run-cat",
            "{ artifact = \"cli\", to = \"/usr/local/bin/cli\" }",
        ),
        (
            "named-run",
            "{ artifact = \"greeting\", to = \"/etc/greeting\" }",
        ),
        (
            "start-created",
            "{ artifact = \"server\", to = \"/server\" }",
        ),
        (
            "image-build",
            "{ artifact = \"tool\", to = \"/usr/local/bin/tool\" }",
        ),
        (
            "tar-pipe-paths",
            "{ artifact = \"app.conf\", to = \"/etc/app.conf\" }",
        ),
        (
            "makefile-and-script",
            "{ artifact = \"api\", to = \"/usr/local/bin/api\" }",
        ),
    ];
    for (case, step) in expectations {
        let output = migrate(&case_dir(case), &["-o", "-"]);
        assert!(
            output.stdout.contains(step),
            "{case}: no `{step}` in\n{}",
            output.stdout
        );
    }
}

#[test]
fn proxy_args_need_no_declaration() {
    let output = migrate(&case_dir("proxy-args"), &["-o", "-"]);
    assert!(output.stdout.contains("predefined proxy args"));
    assert!(
        output
            .stdout
            .contains("args = { BASE = \"alpine:3.19\", GO_VERSION = \"1.21\" }")
    );
    assert!(!output.stdout.contains("https_proxy ="));
}

#[test]
fn nothing_is_dropped_silently() {
    let output = migrate(&case_dir("not-migrated"), &["-o", "-"]);
    for code in [
        "loop",
        "run-time-output",
        "build-flag",
        "not-migrated",
        "dynamic-value",
        "add-archive",
        "renamed-on-host",
    ] {
        assert!(
            output.stderr.contains(&format!("stages::migrate::{code}")),
            "no {code} in\n{}",
            output.stderr
        );
    }
    assert!(output.stdout.contains("[targets.release]"));
}

#[test]
fn writes_atomically_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(case_dir("file-flags")).expect("case") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    let run = |extra: &[&str]| {
        Command::cargo_bin("stages")
            .expect("binary")
            .current_dir(dir.path())
            .arg("migrate")
            .args(extra)
            .output()
            .expect("runs")
    };
    assert!(run(&[]).status.success());
    let written = std::fs::read_to_string(dir.path().join("stages.toml")).expect("written");
    assert_checks(&written);
    std::fs::write(dir.path().join("stages.toml"), "# mine\n").expect("write");
    let again = run(&[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("stages.toml")).expect("kept"),
        "# mine\n"
    );
    assert!(run(&["--force"]).status.success());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("stages.toml")).expect("replaced"),
        written
    );
    assert!(run(&["--emit", "dockerfile"]).status.success());
    let dockerfile =
        std::fs::read_to_string(dir.path().join("Dockerfile.stages")).expect("Dockerfile.stages");
    assert!(
        dockerfile.contains("COPY --from=build /go/bin/tool /tool"),
        "{dockerfile}"
    );
}

#[test]
fn writes_nothing_when_there_is_no_build() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("build.sh"),
        "#!/bin/sh\necho nothing to build\n",
    )
    .expect("write");
    let output = Command::cargo_bin("stages")
        .expect("binary")
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .arg("migrate")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("stages::migrate::no-build"));
    assert!(!dir.path().join("stages.toml").exists());
}

mod no_panic {
    use proptest::prelude::*;
    use stages::convert::migrate::{Request, migrate};

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM alpine\nCOPY app /app\n",
        )
        .expect("Dockerfile");
        std::fs::write(
            dir.path().join("Dockerfile.build"),
            "FROM golang\nRUN go build\n",
        )
        .expect("Dockerfile.build");
        dir
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any script, as a shell script or a Makefile, gives findings, never a panic.
        #[test]
        fn any_script(
            script in r#"((docker (build|create|cp|run|rm|tag|container cp) |-f Dockerfile.build |-t a:b |--name x |x:/app |\$\(|\$\{|cat /a > a|\| tar -x|tar -c |for |done|if |fi|\t|all:\n)|[-a-z$"'`(){}|&;<>:=./ \\\n\t#é]){0,60}"#,
            makefile in any::<bool>(),
        ) {
            let dir = root();
            let request = Request {
                root: dir.path(),
                script_name: if makefile { "Makefile".into() } else { "build.sh".into() },
                script_text: script,
                target_name: None,
                make_target: None,
                root_from_output: ".".into(),
            };
            let migration = migrate(&request);
            for finding in &migration.findings {
                prop_assert!(finding.file < migration.files.len());
            }
        }
    }
}

/// A temporary project with these files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

#[test]
fn a_build_before_the_copy_does_not_see_the_file() {
    let dir = project(&[
        (
            "build.sh",
            "docker build -t app:build -f Dockerfile.build .\ndocker build -t app .\ndocker create --name x app:build\ndocker cp x:/out/app ./app\n",
        ),
        (
            "Dockerfile.build",
            "FROM golang\nRUN go build -o /out/app\n",
        ),
        ("Dockerfile", "FROM alpine\nCOPY app /app\n"),
    ]);
    let output = migrate(dir.path(), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert_checks(&output.stdout);
    // The image was built from whatever `app` was there before: the copy stays,
    // and the extracted file goes to the host.
    assert!(
        output.stdout.contains("{ copy = \"app\", to = \"/app\" }"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("artifacts = [\"app\"]"),
        "{}",
        output.stdout
    );
}

#[test]
fn every_case_also_exports_a_dockerfile() {
    for case in CASES {
        let output = migrate(&case_dir(case), &["--emit", "dockerfile", "-o", "-"]);
        assert!(output.success, "{case}: {}", output.stderr);
        let parsed = parse(&output.stdout).unwrap_or_else(|e| panic!("{case}: {e:?}"));
        assert!(parsed.nodes.iter().any(|n| n.name() == "from"), "{case}");
    }
}

#[test]
fn here_documents_in_scripts_are_not_commands() {
    let dir = project(&[
        (
            "build.sh",
            "cat > notes.txt <<EOF\ndocker push nowhere\nEOF\ndocker build -t app:build -f Dockerfile.build .\ndocker create --name x app:build\ndocker cp x:/out/app ./app\ndocker build -t app .\n",
        ),
        (
            "Dockerfile.build",
            "FROM golang\nRUN go build -o /out/app\n",
        ),
        ("Dockerfile", "FROM alpine\nCOPY app /app\n"),
    ]);
    let output = migrate(dir.path(), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert!(
        !output.stderr.contains("`docker push` is not part"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stdout
            .contains("{ artifact = \"app\", to = \"/app\" }")
    );
}

#[test]
fn a_target_builds_only_the_stages_it_needs() {
    let dir = project(&[
        (
            "build.sh",
            "docker build --target compile -t app:build -f Dockerfile.build .\nID=$(docker create app:build)\ndocker cp $ID:/out/app app\ndocker build -t app .\n",
        ),
        (
            "Dockerfile.build",
            "FROM golang AS deps\nRUN go mod download\nFROM deps AS compile\nRUN go build -o /out/app\nFROM compile AS test\nRUN go test ./...\n",
        ),
        ("Dockerfile", "FROM alpine\nCOPY app /app\n"),
    ]);
    let output = migrate(dir.path(), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert_checks(&output.stdout);
    assert!(
        output.stdout.contains("[stages.build-deps]"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("[stages.build]"));
    assert!(!output.stdout.contains("go test"), "{}", output.stdout);
    assert!(
        output
            .stdout
            .contains("{ artifact = \"app\", to = \"/app\" }")
    );
}

#[test]
fn paths_are_relative_to_where_the_result_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(case_dir("tar-pipe")).expect("case") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    std::fs::create_dir(dir.path().join("build")).expect("mkdir");
    let status = Command::cargo_bin("stages")
        .expect("binary")
        .current_dir(dir.path())
        .args(["migrate", ".", "-o", "build/stages.toml"])
        .output()
        .expect("runs");
    assert!(status.status.success());
    let written = std::fs::read_to_string(dir.path().join("build/stages.toml")).expect("written");
    assert!(written.contains("context = \"..\""), "{written}");
    // The script extracts into the project directory, above stages.toml:
    // the target exports beside stages.toml and the report names `--output`.
    assert!(written.contains("output = \"./\""), "{written}");
    let report = String::from_utf8_lossy(&status.stderr);
    assert!(report.contains("--output artifacts=.."), "{report}");
}

#[test]
fn images_the_script_built_become_stage_references() {
    let dir = project(&[
        (
            "build.sh",
            "docker build -t app:base -f Dockerfile.base .\ndocker build -t app:build -f Dockerfile.build .\ndocker build -t app .\n",
        ),
        ("Dockerfile.base", "FROM alpine\nRUN apk add go\n"),
        ("Dockerfile.build", "FROM app:base\nRUN go build -o /app\n"),
        (
            "Dockerfile",
            "FROM alpine\nCOPY --from=app:build /app /app\n",
        ),
    ]);
    let output = migrate(dir.path(), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert_checks(&output.stdout);
    assert!(
        output.stdout.contains("from = { stage = \"base\" }"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("{ copy = \"/app\", to = \"/app\", from = \"build\" }"),
        "{}",
        output.stdout
    );
}

/// The part of the output from `header` to the next table.
fn table<'a>(toml: &'a str, header: &str) -> &'a str {
    let start = toml
        .find(header)
        .unwrap_or_else(|| panic!("no {header} in\n{toml}"));
    let rest = &toml[start + header.len()..];
    let end = rest.find("\n[").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

#[test]
fn a_named_run_makes_the_image_command_the_last_step() {
    let output = migrate(&case_dir("named-run"), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    let build = table(&output.stdout, "[stages.build]");
    // The CMD the container ran is now a build step, after the Dockerfile's own.
    let steps = &build[build.find("steps").expect("steps")..build.find("cmd").expect("cmd")];
    assert!(
        steps.contains(
            "  # the command the container ran at build.sh line 5\n  { run = [\"sh\", \"-c\", \"mkdir -p /out && tr a-z A-Z < greeting.txt > /out/GREETING\"] },\n]"
        ),
        "{build}"
    );
    assert!(
        !output.stderr.contains("container-run"),
        "{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("unknown-image"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_started_container_runs_the_entrypoint_with_the_created_command() {
    let output = migrate(&case_dir("start-created"), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    let build = table(&output.stdout, "[stages.build]");
    // ENTRYPOINT make + the command given to `docker create`, with its -e;
    // its `-w /src` is the stage's directory already.
    assert!(
        build.contains("{ env = { CGO_ENABLED = \"0\" } },\n  { run = [\"make\", \"release\"] },"),
        "{build}"
    );
    assert!(!build.contains("{ workdir = "), "{build}");
}

#[test]
fn a_container_run_whose_stage_others_build_on_gets_its_own_stage() {
    let dir = project(&[
        (
            "build.sh",
            "docker build -t app:build -f Dockerfile.build .\ndocker build -t app:test -f Dockerfile.test .\ndocker run --name gen app:build make generate\ndocker cp gen:/src/gen ./gen\ndocker build -t app .\n",
        ),
        ("Dockerfile.build", "FROM golang\nWORKDIR /src\nCOPY . .\n"),
        ("Dockerfile.test", "FROM app:build\nRUN go test ./...\n"),
        ("Dockerfile", "FROM alpine\nCOPY gen /gen\n"),
    ]);
    let output = migrate(dir.path(), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert_checks(&output.stdout);
    // The tests still build on the image the script built, not on the generated files.
    let run = table(&output.stdout, "[stages.build-run]");
    assert!(run.contains("from = { stage = \"build\" }"), "{run}");
    assert!(run.contains("{ run = [\"make\", \"generate\"] }"), "{run}");
    assert!(
        !table(&output.stdout, "[stages.build]").contains("make"),
        "{}",
        output.stdout
    );
    let artifact = table(&output.stdout, "[artifacts.gen]");
    assert!(artifact.contains("stage = \"build-run\""), "{artifact}");
}

#[test]
fn a_container_of_an_image_without_a_known_command_is_explained() {
    let dir = project(&[
        (
            "build.sh",
            "docker build -t app:build -f Dockerfile.build .\nID=$(docker run -d app:build)\ndocker wait \"$ID\"\ndocker cp \"$ID\":/out/app ./app\n",
        ),
        (
            "Dockerfile.build",
            "FROM golang\nRUN go build -o /out/app\n",
        ),
    ]);
    let output = migrate(dir.path(), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    let stderr = unwrapped(&output.stderr);
    assert!(
        stderr.contains("stages::migrate::unknown-command"),
        "{stderr}"
    );
    assert!(stderr.contains("default command of `golang`"), "{stderr}");
    assert!(
        stderr.contains("add what the command does as the last step of stage `build`"),
        "{stderr}"
    );
    // `docker wait` only follows the container.
    assert!(!stderr.contains("`docker wait` is not part"), "{stderr}");
    assert!(
        output.stdout.contains("artifacts = [\"app\"]"),
        "{}",
        output.stdout
    );
}

#[test]
fn a_container_that_ran_but_gave_nothing_is_still_reported() {
    let dir = project(&[
        (
            "build.sh",
            "docker build -t app:build -f Dockerfile.build .\ndocker create --name x app:build\ndocker cp x:/out/app ./app\ndocker run --name smoke app:build --version\n",
        ),
        (
            "Dockerfile.build",
            "FROM golang\nRUN go build -o /out/app\n",
        ),
    ]);
    let output = migrate(dir.path(), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert!(
        output.stderr.contains("stages::migrate::container-run"),
        "{}",
        output.stderr
    );
    assert!(!output.stdout.contains("--version"), "{}", output.stdout);
}

#[test]
fn tar_pipes_of_several_paths_and_of_a_shell_pipeline() {
    let paths = migrate(&case_dir("tar-pipe-paths"), &["-o", "-"]);
    assert!(paths.success, "{}", paths.stderr);
    for (artifact, path) in [
        ("bin", "/opt/app/bin"),
        ("lib", "/opt/app/lib"),
        ("doc", "/opt/app/share/doc"),
        ("\"app.conf\"", "/etc/app.conf"),
    ] {
        let table = table(&paths.stdout, &format!("[artifacts.{artifact}]"));
        assert!(table.contains(&format!("path = \"{path}\"")), "{table}");
    }
    assert!(paths.stdout.contains("output = \"dist/share/\""));
    let find = migrate(&case_dir("tar-pipe-find"), &["-o", "-"]);
    assert!(find.success, "{}", find.stderr);
    assert!(
        find.stdout.contains(
            r#"{ run = """mkdir -p /stages-output/site && sh -c "cd /out && find . -name '*.md' | xargs tar -c" | tar -x -C /stages-output/site""" },"#
        ),
        "{}",
        find.stdout
    );
    assert!(find.stdout.contains("path = \"/stages-output/site\""));
}

#[test]
fn the_makefile_is_read_when_the_script_beside_it_builds_nothing() {
    let output = migrate(&case_dir("makefile-and-script"), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("Migrated from target `image` of Makefile"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stderr
            .contains("reading Makefile: build.sh runs no `docker build`"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("no-build"), "{}", output.stderr);
}

#[test]
fn a_builder_without_a_runtime_image_becomes_the_default_artifact_target() {
    for (case, target, output_dir, artifact) in [
        (
            "artifact-only",
            "release",
            "release/",
            "cli-linux-amd64.tar.gz",
        ),
        ("stdout-tarball", "out", "out/", "pkg.tar"),
    ] {
        let output = migrate(&case_dir(case), &["-o", "-"]);
        assert!(output.success, "{case}: {}", output.stderr);
        assert!(
            output
                .stdout
                .contains(&format!("default-target = \"{target}\"")),
            "{case}: {}",
            output.stdout
        );
        let table = table(&output.stdout, &format!("[targets.{target}]"));
        assert!(
            table.contains(&format!("artifacts = [\"{artifact}\"]")),
            "{case}: {table}"
        );
        assert!(
            table.contains(&format!("output = \"{output_dir}\"")),
            "{case}: {table}"
        );
    }
    // The tarball the script wrote from standard output is written by a step.
    let output = migrate(&case_dir("stdout-tarball"), &["-o", "-"]);
    assert!(output.stdout.contains(
        "{ run = \"mkdir -p /stages-output && tar -c -C /pkg share > /stages-output/pkg.tar\" },"
    ));
}

#[test]
fn build_output_flags_say_what_to_write_instead() {
    let dir = project(&[
        (
            "build.sh",
            "docker buildx build --target bin -o type=local,dest=dist -f Dockerfile.build .\n",
        ),
        (
            "Dockerfile.build",
            "FROM golang AS bin\nRUN go build -o /app\n",
        ),
    ]);
    let output = migrate(dir.path(), &["-o", "-"]);
    let stderr = unwrapped(&output.stderr);
    assert!(stderr.contains("stages::migrate::build-flag"), "{stderr}");
    assert!(stderr.contains("add an artifact target"), "{stderr}");
}

#[test]
fn the_schema_line_points_at_a_schema_that_exists() {
    let copy_case = || {
        let dir = tempfile::tempdir().expect("temp dir");
        for entry in std::fs::read_dir(case_dir("file-flags")).expect("case") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
        }
        dir
    };
    let run = |dir: &Path, extra: &[&str]| {
        Command::cargo_bin("stages")
            .expect("binary")
            .current_dir(dir)
            .arg("migrate")
            .args(extra)
            .output()
            .expect("runs")
    };
    // With no schema around, migrate writes one beside the file it writes.
    let bare = copy_case();
    let out = run(bare.path(), &[]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrote ./stages.schema.json\n"), "{stderr}");
    let toml = std::fs::read_to_string(bare.path().join("stages.toml")).expect("written");
    assert!(
        toml.starts_with("#:schema ./stages.schema.json\n"),
        "{toml}"
    );
    let schema = std::fs::read_to_string(bare.path().join("stages.schema.json")).expect("schema");
    assert!(schema.contains("\"title\": \"stages.toml\""), "{schema}");
    assert!(!toml.contains("stages schema -o"), "{toml}");
    // A schema where `stages schema -o schema/stages.schema.json` puts it is used, not rewritten.
    let with_schema = copy_case();
    std::fs::create_dir(with_schema.path().join("schema")).expect("mkdir");
    std::fs::write(with_schema.path().join("schema/stages.schema.json"), "{}").expect("write");
    assert!(run(with_schema.path(), &[]).status.success());
    let toml = std::fs::read_to_string(with_schema.path().join("stages.toml")).expect("written");
    assert!(
        toml.starts_with("#:schema ./schema/stages.schema.json\n"),
        "{toml}"
    );
    assert!(!with_schema.path().join("stages.schema.json").exists());
    // To standard output with no schema around, no line points at a missing file.
    let to_stdout = copy_case();
    let out = run(to_stdout.path(), &["-o", "-"]);
    assert!(out.status.success(), "{out:?}");
    let toml = String::from_utf8_lossy(&out.stdout);
    assert!(!toml.contains("#:schema"), "{toml}");
    assert!(!to_stdout.path().join("stages.schema.json").exists());
    // An existing output is refused before anything is written beside it.
    let kept = copy_case();
    std::fs::write(kept.path().join("stages.toml"), "# mine\n").expect("write");
    assert!(!run(kept.path(), &[]).status.success());
    assert!(!kept.path().join("stages.schema.json").exists());
}

#[test]
fn the_make_target_the_script_runs_is_followed_into_its_directory() {
    let output = migrate(&case_dir("make-subdir"), &["-o", "-"]);
    assert!(output.success, "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("reading docker/Makefile: build.sh runs `make image`"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stdout
            .contains("Migrated from target `image` of docker/Makefile"),
        "{}",
        output.stdout
    );
    // `lint`, the Makefile's first target that builds, is not what build.sh runs.
    assert!(
        !output.stdout.contains("Dockerfile.lint"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("Dockerfile.build") || output.stdout.contains("go install"),
        "{}",
        output.stdout
    );
}
