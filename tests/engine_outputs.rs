//! What `stages build` writes on the host, against the real Engine on every
//! back end: artifact links never lead out of the output directory, and
//! output directories stay inside the project unless `--output` says
//! otherwise.

mod engine_support;

use std::path::{Path, PathBuf};

use engine_support::{Project, Run, engine, stages, unique};

const BACK_ENDS: [&str; 3] = ["native", "dockerfile", "buildkit"];

fn build(project: &Project, backend: &str, args: &[&str]) -> Run {
    build_in(project.path(), backend, args)
}

fn build_in(dir: &Path, backend: &str, args: &[&str]) -> Run {
    let mut command = stages();
    command
        .current_dir(dir)
        .args(["build", "--backend", backend, "--progress", "plain"])
        .args(args);
    Run::from(command.output().expect("run stages"))
}

/// A project exporting `/out/<dir>` of a stage whose step is `script`.
fn exporting(script: &str, output: &str) -> String {
    format!(
        r#"[stages.files]
from = "busybox:stages-test"
steps = [{{ run = "{script}" }}]

[artifacts.tree]
stage = "files"
path = "/out/tree"

[targets.dist]
artifacts = ["tree"]
output = "{output}"
"#
    )
}

/// Every path under `dir`, found without following links.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.map(|e| e.expect("entry")) {
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                pending.push(entry.path());
            }
            found.push(entry.path());
        }
    }
    found
}

/// Every path under `dir` that exists resolves inside `dir`.
#[track_caller]
fn nothing_resolves_outside(dir: &Path) {
    let root = std::fs::canonicalize(dir).expect("canonical root");
    for path in walk(dir) {
        if let Ok(resolved) = std::fs::canonicalize(&path) {
            assert!(
                resolved.starts_with(&root),
                "{} resolves to {}",
                path.display(),
                resolved.display()
            );
        }
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn stacked_dot_links_cannot_lead_an_artifact_out_of_the_output_directory() {
    engine();
    for backend in BACK_ENDS {
        let project = Project::new(&exporting(
            "mkdir -p /out/tree && cd /out/tree && ln -s . c && ln -s c/c/c/c/../../../../etc/passwd e",
            "dist/",
        ));
        let run = build(&project, backend, &[]).exit(1);
        let report = run.flat_stderr();
        assert!(
            report.contains("`tree/e` is refused")
                && report.contains("leads outside the output directory"),
            "{backend}: {}",
            run.describe()
        );
        assert!(
            !project.path().join("dist").exists(),
            "{backend}: nothing is written"
        );
        assert_eq!(entries(project.path()), ["stages.toml"], "{backend}");
        nothing_resolves_outside(project.path());
    }
}

#[test]
fn links_through_links_that_stay_inside_are_exported() {
    engine();
    for backend in BACK_ENDS {
        let project = Project::new(&exporting(
            "mkdir -p /out/tree/d && cd /out/tree && echo data > d/f && ln -s . c && ln -s d l && ln -s c/c/l/../d/f g && ln -s .. up",
            "dist/",
        ));
        build(&project, backend, &[]).success();
        let dist = project.path().join("dist");
        assert_eq!(
            std::fs::read_to_string(dist.join("tree/g")).expect("g"),
            "data\n",
            "{backend}"
        );
        nothing_resolves_outside(&dist);
    }
}

#[test]
fn outputs_outside_the_project_are_refused_before_anything_is_written() {
    engine();
    let name = unique("stages-output-probe");
    for output in ["/", "..", "../", "/root/.ssh"] {
        let wrapper = tempfile::tempdir().expect("temp dir");
        let dir = wrapper.path().join("project");
        std::fs::create_dir(&dir).expect("mkdir");
        let script = format!("mkdir -p /out/tree && echo key > /out/tree/{name}");
        std::fs::write(dir.join("stages.toml"), exporting(&script, output)).expect("write");
        let run = build_in(&dir, "native", &[]).exit(1);
        let report = run.flat_stderr();
        assert!(
            report.contains("stages::check::output-outside-project")
                && report.contains("--output dist=DIR"),
            "{output}: {}",
            run.describe()
        );
        assert_eq!(entries(wrapper.path()), ["project"], "{output}");
        assert_eq!(entries(&dir), ["stages.toml"], "{output}");
        assert!(!Path::new("/").join("tree").join(&name).exists());
        assert!(!Path::new("/root/.ssh/tree").exists());
    }
    // An absolute path elsewhere on the host.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let output = elsewhere.path().join("x").display().to_string();
    let project = Project::new(&exporting("mkdir -p /out/tree", &output));
    let run = build(&project, "dockerfile", &[]).exit(1);
    assert!(
        run.flat_stderr()
            .contains("stages::check::output-outside-project"),
        "{}",
        run.describe()
    );
    assert!(entries(elsewhere.path()).is_empty());
}

#[cfg(unix)]
#[test]
fn an_output_through_a_symlink_out_of_the_project_is_refused() {
    engine();
    for backend in BACK_ENDS {
        let elsewhere = tempfile::tempdir().expect("temp dir");
        let project = Project::new(&exporting(
            "mkdir -p /out/tree && echo key > /out/tree/authorized_keys",
            "out",
        ));
        std::os::unix::fs::symlink(elsewhere.path(), project.path().join("out")).expect("link");
        let run = build(&project, backend, &[]).exit(1);
        let report = run.flat_stderr();
        assert!(
            report.contains("stages::engine::output-outside-project")
                && report.contains("outside the project directory")
                && report.contains("--output dist=DIR"),
            "{backend}: {}",
            run.describe()
        );
        assert!(
            entries(elsewhere.path()).is_empty(),
            "{backend}: nothing is written through the link"
        );
        assert_eq!(entries(project.path()), ["out", "stages.toml"], "{backend}");
    }
}

#[test]
fn command_line_outputs_export_anywhere() {
    engine();
    for backend in BACK_ENDS {
        let elsewhere = tempfile::tempdir().expect("temp dir");
        let project = Project::new(&exporting(
            "mkdir -p /out/tree && echo key > /out/tree/file",
            "dist/",
        ));
        let target = elsewhere.path().join("somewhere");
        let flag = format!("dist={}", target.display());
        build(&project, backend, &["--output", &flag]).success();
        assert_eq!(
            std::fs::read_to_string(target.join("tree/file")).expect("exported"),
            "key\n",
            "{backend}"
        );
        assert!(!project.path().join("dist").exists(), "{backend}");
        assert_eq!(entries(elsewhere.path()), ["somewhere"], "{backend}");
    }
    // A relative directory is taken from the current directory, and a
    // target that is not an artifact target is a usage error.
    let project = Project::new(&exporting(
        "mkdir -p /out/tree && echo key > /out/tree/file",
        "dist/",
    ));
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut command = stages();
    command.current_dir(cwd.path()).args([
        "build",
        "--progress",
        "plain",
        "-f",
        &project.path().join("stages.toml").display().to_string(),
        "--output",
        "dist=exported",
    ]);
    Run::from(command.output().expect("run stages")).success();
    assert!(cwd.path().join("exported/tree/file").is_file());
    let run = build(&project, "native", &["--output", "dsit=/tmp/x"]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.flat_stderr().contains("did you mean `dist`?"),
        "{}",
        run.describe()
    );
}
