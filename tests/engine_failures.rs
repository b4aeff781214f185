//! How builds fail against the real Engine: a failing RUN, an unreachable
//! daemon, features the classic builder cannot run, sources that escape the context,
//! artifacts that would escape the output directory. Every failure leaves
//! no container behind.

mod engine_support;

use engine_support::{Project, containers_labelled, engine, stages, unique};

#[test]
fn a_failing_run_names_the_stage_and_step_with_its_output() {
    engine();
    let marker = unique("failing-run");
    let project = Project::new(&format!(
        r#"[stages.base]
from = "busybox:stages-test"
labels = {{ "dev.stages.test" = "{marker}" }}

[stages.broken]
from = {{ stage = "base" }}
steps = [
  {{ run = "echo fine" }},
  {{ run = "echo first line; echo to stderr >&2; exit 3" }},
  {{ run = "echo never" }},
]
"#
    ));
    let run = project.build(&["broken"]).exit(1);
    let err = &run.stderr;
    assert!(
        err.contains("stages::engine::step-failed"),
        "{}",
        run.describe()
    );
    assert!(
        err.contains("step 2 (RUN) of stage `broken` failed: it exited with code 3"),
        "{}",
        run.describe()
    );
    assert!(err.contains("│ first line"), "{}", run.describe());
    assert!(err.contains("│ to stderr"), "{}", run.describe());
    assert!(!err.contains("\u{1b}[91m"), "colour codes leak: {err}");
    // The label points at the step in stages.toml.
    assert!(err.contains("stages.toml:9:3"), "{}", run.describe());
    assert!(err.contains("this step failed"), "{}", run.describe());
    assert!(containers_labelled("dev.stages.test", &marker).is_empty());

    // With JSON progress the diagnostic is a JSON line too, with its place.
    let run = project.build(&["broken", "--progress", "json"]).exit(1);
    let diagnostic: serde_json::Value = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["code"] == "stages::engine::step-failed")
        .unwrap_or_else(|| panic!("no diagnostic line:\n{}", run.describe()));
    assert_eq!(diagnostic["line"], 9);
    assert_eq!(diagnostic["severity"], "error");
    assert!(containers_labelled("dev.stages.test", &marker).is_empty());
}

#[test]
fn a_missing_base_image_points_at_from() {
    engine();
    let project = Project::new(
        "[stages.app]\nfrom = \"stages-test-no-such-image:never\"\nsteps = [{ run = \"true\" }]\n",
    );
    // Images are pulled before the first step: a base that cannot be had
    // stops the build before it starts, naming the image and its stage.
    let run = project.build(&[]).exit(2);
    let text: String = run.stderr.replace('│', "").split_whitespace().collect();
    assert!(
        text.contains("cannotpullstages-test-no-such-image:never(neededbystageapp)"),
        "{}",
        run.describe()
    );
    let run = project.build(&["--pull", "never"]).exit(2);
    let text: String = run.stderr.replace('│', "").split_whitespace().collect();
    assert!(
        text.contains("stages-test-no-such-image:never(neededbystageapp)"),
        "{}",
        run.describe()
    );
    assert!(!run.stderr.contains("[pull]"), "{}", run.describe());
}

#[test]
fn an_unreachable_daemon_is_one_clear_error() {
    let project = Project::new("[stages.app]\nfrom = \"busybox:stages-test\"\n");
    let run = engine_support::Run::from(
        stages()
            .current_dir(project.path())
            .env("DOCKER_HOST", "tcp://127.0.0.1:1")
            .args(["build", "--backend", "dockerfile"])
            .output()
            .expect("run"),
    )
    .exit(2);
    assert!(
        run.stderr.contains("stages::engine::unreachable"),
        "{}",
        run.describe()
    );
    assert!(
        run.flat_stderr()
            .contains("cannot reach the Docker Engine at tcp://127.0.0.1:1 (from DOCKER_HOST)"),
        "{}",
        run.describe()
    );
    assert!(
        run.flat_stderr().contains("unset DOCKER_HOST"),
        "{}",
        run.describe()
    );
    assert_eq!(run.stderr.matches("cannot reach").count(), 1);

    let run = engine_support::Run::from(
        stages()
            .current_dir(project.path())
            .args([
                "build",
                "--backend",
                "dockerfile",
                "-H",
                "unix:///nonexistent/docker.sock",
            ])
            .output()
            .expect("run"),
    )
    .exit(2);
    assert!(
        run.flat_stderr().contains(
            "cannot reach the Docker Engine at unix:///nonexistent/docker.sock (from --host)"
        ),
        "{}",
        run.describe()
    );
}

#[test]
fn tls_without_certificates_names_where_they_were_looked_for() {
    let project = Project::new("[stages.app]\nfrom = \"busybox:stages-test\"\n");
    let run = engine_support::Run::from(
        stages()
            .current_dir(project.path())
            .env("DOCKER_HOST", "tcp://127.0.0.1:1")
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", "/nonexistent/certs")
            .args(["build", "--backend", "dockerfile"])
            .output()
            .expect("run"),
    )
    .exit(2);
    let flat = run.flat_stderr();
    assert!(
        flat.contains("cannot reach the Docker Engine at tcp://127.0.0.1:1"),
        "{}",
        run.describe()
    );
    assert!(
        flat.contains("/nonexistent/certs/ca.pem"),
        "{}",
        run.describe()
    );
    assert!(flat.contains("DOCKER_CERT_PATH"), "{}", run.describe());
}

#[test]
fn buildkit_only_features_are_refused_by_name() {
    let project = Project::new(
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [{ run = \"true\", mounts = [{ type = \"cache\", target = \"/c\" }] }]\n",
    );
    let run = project.build(&[]).exit(1);
    assert!(run.stderr.contains("`cache` mounts"), "{}", run.describe());
}

#[cfg(unix)]
#[test]
fn sources_that_escape_the_context_are_errors_on_their_span() {
    engine();
    let outer = tempfile::tempdir().expect("temp");
    std::fs::write(outer.path().join("secret.txt"), "secret").expect("write");
    let project_dir = outer.path().join("project");
    std::fs::create_dir(&project_dir).expect("mkdir");
    std::os::unix::fs::symlink(
        outer.path().join("secret.txt"),
        project_dir.join("link.txt"),
    )
    .expect("symlink");
    std::fs::write(
        project_dir.join("stages.toml"),
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [{ copy = \"link.txt\", to = \"/x\" }]\n",
    )
    .expect("write");
    let run = engine_support::Run::from(
        stages()
            .current_dir(&project_dir)
            .args(["build", "--backend", "dockerfile", "--progress", "plain"])
            .output()
            .expect("run"),
    )
    .exit(1);
    assert!(
        run.stderr
            .contains("stages::engine::source-escapes-context"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("`link.txt` is a symlink to"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("stages.toml:3:19"),
        "{}",
        run.describe()
    );

    std::fs::write(
        project_dir.join("stages.toml"),
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [{ copy = \"../secret.txt\", to = \"/x\" }]\n",
    )
    .expect("write");
    let run = engine_support::Run::from(
        stages()
            .current_dir(&project_dir)
            .args(["build", "--backend", "dockerfile", "--progress", "plain"])
            .output()
            .expect("run"),
    )
    .exit(1);
    assert!(run.stderr.contains("secret.txt"), "{}", run.describe());
    assert!(run.stderr.contains("context"), "{}", run.describe());
}

#[test]
fn an_artifact_with_a_symlink_out_is_refused_and_the_output_is_untouched() {
    engine();
    let project = Project::new(
        r#"[stages.evil]
from = "busybox:stages-test"
steps = [
  { run = "mkdir -p /out && echo ok > /out/fine.txt && ln -s /etc/passwd /out/passwd && ln -s ../../escape /out/up" },
]

[artifacts.out]
stage = "evil"
path = "/out"

[targets.files]
artifacts = ["out"]
output = "dist/"
"#,
    )
    .file("dist/existing.txt", "kept");
    let run = project.build(&[]).exit(1);
    assert!(
        run.stderr.contains("stages::engine::artifact-export"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("outside the output directory"),
        "{}",
        run.describe()
    );
    let dist = project.path().join("dist");
    let names: Vec<String> = std::fs::read_dir(&dist)
        .expect("dist")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["existing.txt".to_owned()]);
    let staging: Vec<_> = std::fs::read_dir(project.path())
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".stages-"))
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
}

#[test]
fn a_missing_artifact_path_points_at_the_artifact() {
    engine();
    let project = Project::new(
        r#"[stages.build]
from = "busybox:stages-test"
steps = [{ run = "true" }]

[artifacts.nothing]
stage = "build"
path = "/not/there"

[targets.files]
artifacts = ["nothing"]
output = "dist/"
"#,
    );
    let run = project.build(&[]).exit(1);
    assert!(
        run.stderr.contains(
            "artifact `nothing`: `/not/there` does not exist in the image of stage `build`"
        ),
        "{}",
        run.describe()
    );
    assert!(!project.path().join("dist").exists());
}
