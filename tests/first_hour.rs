//! What a new user meets in the first hour, without an Engine: messages
//! of `check` (never "ok" with errors, sources missing from the context or
//! left out by .dockerignore, `user` as a number), the global output
//! switches, `--progress` help, shell completion of target names, the
//! export of artifact targets, and the quick start's instructions.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn stages() -> Command {
    let mut command = Command::cargo_bin("stages").expect("the stages binary is built");
    command.env_remove("NO_COLOR");
    command.env_remove("CLICOLOR_FORCE");
    command.env_remove("COMPLETE");
    command
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A project directory holding `stages.toml` and `files`.
fn project(config: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("stages.toml"), config).expect("write stages.toml");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

/// Exit code, standard output and standard error, for a snapshot.
fn run(command: &mut Command) -> String {
    let output = command.output().expect("stages runs");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn check_in(dir: &Path) -> String {
    run(stages()
        .current_dir(dir)
        .args(["check", "--color", "never"]))
}

#[test]
fn check_never_says_ok_with_errors() {
    let out = run(stages()
        .current_dir(root())
        .args(["check", "--color", "never", "--backend", "dockerfile", "-f"])
        .arg("examples/artifacts-to-host/stages.toml"));
    assert!(out.starts_with("exit: 1\n"), "{out}");
    assert!(!out.contains(": ok"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn check_reports_a_copy_source_missing_from_the_context_with_the_nearest_path() {
    let dir = project(
        "[stages.app]\nfrom = \"busybox\"\nsteps = [\n  { copy = \"src/mian.go\", to = \"/src/\" },\n  { copy = \"Makefiel\", to = \"/src/\" },\n]\n",
        &[("src/main.go", "package main\n"), ("Makefile", "all:\n")],
    );
    insta::assert_snapshot!(check_in(dir.path()));
}

#[test]
fn check_reports_a_source_left_out_by_dockerignore_on_its_own() {
    let dir = project(
        "[stages.app]\nfrom = \"busybox\"\nsteps = [{ copy = \"secrets.env\", to = \"/etc/app/\" }]\n",
        &[("secrets.env", "TOKEN=x\n"), (".dockerignore", "*.env\n")],
    );
    insta::assert_snapshot!(check_in(dir.path()));
}

#[test]
fn user_may_be_a_number_as_dockers_user_takes() {
    let dir = project(
        "[stages.app]\nfrom = \"busybox\"\nuser = 65534\nsteps = [{ user = 0 }, { run = \"id\" }]\n",
        &[],
    );
    let out = check_in(dir.path());
    assert!(out.starts_with("exit: 0\n"), "{out}");
    let exported = stages()
        .current_dir(dir.path())
        .arg("export-dockerfile")
        .output()
        .expect("export");
    let text = String::from_utf8_lossy(&exported.stdout);
    assert!(text.contains("USER 65534\n"), "{text}");
    assert!(text.contains("USER 0\n"), "{text}");
}

#[test]
fn a_misspelt_step_kind_gets_did_you_mean() {
    let dir = project(
        "[stages.app]\nfrom = \"busybox\"\nsteps = [{ rnu = \"make\" }]\n",
        &[],
    );
    insta::assert_snapshot!(check_in(dir.path()));
}

#[test]
fn a_wrong_type_says_what_the_key_takes_with_an_example() {
    let dir = project(
        "[stages.app]\nfrom = \"busybox\"\n\n[targets.app]\nstage = \"app\"\ntags = \"app:latest\"\n",
        &[],
    );
    insta::assert_snapshot!(check_in(dir.path()));
}

#[test]
fn quiet_check_prints_nothing_on_a_clean_file() {
    let dir = project("[stages.app]\nfrom = \"busybox\"\n", &[]);
    let out = run(stages().current_dir(dir.path()).args(["check", "-q"]));
    assert_eq!(out, "exit: 0\n--- stdout\n--- stderr\n");
}

#[test]
fn color_follows_the_switch_then_no_color_then_clicolor_force() {
    let dir = project("[stages.app]\nfrom = 3\n", &[]);
    let escape = |command: &mut Command| {
        let output = command.current_dir(dir.path()).output().expect("runs");
        String::from_utf8_lossy(&output.stderr).contains('\u{1b}')
    };
    assert!(escape(stages().args(["check", "--color", "always"])));
    assert!(!escape(
        stages()
            .args(["check", "--color", "never"])
            .env("CLICOLOR_FORCE", "1")
    ));
    assert!(escape(stages().arg("check").env("CLICOLOR_FORCE", "1")));
    assert!(!escape(
        stages()
            .arg("check")
            .env("CLICOLOR_FORCE", "1")
            .env("NO_COLOR", "1")
    ));
    // Not a terminal, nothing set: no colours.
    assert!(!escape(stages().arg("check")));
}

#[test]
fn progress_values_are_described_in_help() {
    let output = stages()
        .args(["build", "--help"])
        .env("COLUMNS", "100")
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    let start = help.find("--progress").expect("--progress in help");
    let section: String = help[start..]
        .lines()
        .take_while(|line| !line.trim_start().starts_with("-j"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(section);
}

#[test]
fn completion_offers_the_target_and_stage_names_of_the_project_here() {
    let dir = project(
        "[stages.compile]\nfrom = \"busybox\"\n[stages.runtime]\nfrom = { stage = \"compile\" }\n[targets.app]\nstage = \"runtime\"\n",
        &[],
    );
    let complete = |words: &[&str]| {
        let output = stages()
            .current_dir(dir.path())
            .env("COMPLETE", "fish")
            .arg("--")
            .args(words)
            .output()
            .expect("completion");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    insta::assert_snapshot!("complete-build", complete(&["stages", "build", ""]));
    let filter = complete(&["stages", "build", "--no-cache-filter", ""]);
    assert!(filter.contains("compile\tstage"), "{filter}");
    assert!(!filter.contains("app\t"), "{filter}");
    let script = stages()
        .args(["completions", "bash"])
        .output()
        .expect("script");
    let script = String::from_utf8_lossy(&script.stdout);
    assert!(script.contains("COMPLETE=\"bash\""), "{script}");
}

#[test]
fn an_artifact_target_exports_as_a_last_scratch_stage() {
    let out = run(stages()
        .current_dir(root())
        .args(["export-dockerfile", "binary", "-f"])
        .arg("examples/artifacts-to-host/stages.toml"));
    insta::assert_snapshot!(out);
}

#[test]
fn the_quick_start_says_how_to_install_and_shows_compile_progress() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let quick_start = &readme[readme.find("## Quick start").expect("a quick start")..];
    assert!(quick_start.contains("cargo install --path . --locked"));
    assert!(quick_start.contains("busybox-static"));
    let script =
        std::fs::read_to_string(root().join("scripts/quickstart.sh")).expect("quickstart.sh");
    let cargo_lines: Vec<&str> = script
        .lines()
        .filter(|l| l.trim_start().starts_with("cargo "))
        .collect();
    assert!(!cargo_lines.is_empty());
    assert!(
        cargo_lines
            .iter()
            .all(|l| !l.contains("--quiet") && !l.contains(" -q")),
        "{cargo_lines:?}"
    );
}
