//! Pulling, pushing and registry credentials, end to end: the real Docker
//! Engine and a real registry server (`registry_support`), started per test
//! on a free port. Every image a test makes has a unique name and is
//! removed by that name.

mod engine_support;
mod registry_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use engine_support::{
    BASE_IMAGE, Project, Run, engine, image_exists, inspect, label, remove_images, stages, unique,
};
use registry_support::{Registry, credential_helper, docker, remove_repositories};

/// Runs `stages build ARGS…` in `project` with Docker's client
/// configuration in `config` and an extra PATH entry.
fn build(project: &Project, config: &Path, path: Option<&Path>, args: &[&str]) -> Run {
    let mut command = stages();
    command
        .current_dir(project.path())
        .env("DOCKER_CONFIG", config)
        .env_remove("DOCKER_CONTEXT")
        .arg("build");
    if let Some(extra) = path {
        let old = std::env::var("PATH").unwrap_or_default();
        command.env("PATH", format!("{}:{old}", extra.display()));
    }
    if !args.contains(&"--progress") {
        command.args(["--progress", "plain"]);
    }
    command.args(args);
    Run::from(command.output().expect("run stages"))
}

fn from_image(image: &str, tag: &str) -> String {
    format!(
        r#"
[stages.app]
from = "{image}"
steps = [{{ run = "echo built > /built" }}]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    )
}

/// Standard error without whitespace or box drawing, so that a message
/// wrapped at any width can be matched (compare with `squash(needle)`).
fn squashed(run: &Run) -> String {
    squash(&run.stderr.replace('│', ""))
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect()
}

/// Removes the tags a test made when it ends, passed or not.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let tags: Vec<&str> = self.0.iter().map(String::as_str).collect();
        remove_images(&tags);
        // Pulls leave `name@sha256:…` references behind.
        remove_repositories(&self.0);
    }
}

#[test]
fn a_base_image_only_in_the_registry_is_pulled_before_the_build() {
    engine();
    let registry = Registry::start();
    let base = registry.image(&format!("{}:v1", unique("stages-reg-base")));
    let tag = unique("stages-reg-app");
    let _cleanup = Cleanup(vec![base.clone(), tag.clone()]);
    registry.push_only_there(BASE_IMAGE, &base);
    assert!(!image_exists(&base));
    let project = Project::new(&from_image(&base, &tag));
    let config = tempfile::tempdir().unwrap();

    let never = build(&project, config.path(), None, &["--pull", "never"]).exit(2);
    let text = squashed(&never);
    assert!(text.contains("--pullnever"), "{}", never.describe());
    assert!(
        text.contains(&squash(&format!("{base} (needed by stage app)"))),
        "{}",
        never.describe()
    );
    assert!(!image_exists(&tag), "nothing was built");

    let run = build(&project, config.path(), None, &["--progress", "json"]).success();
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let first_build_event = events
        .iter()
        .position(|e| e["event"] == "target-started")
        .expect("the build started");
    let pulled = events
        .iter()
        .position(|e| e["event"] == "pulled" && e["image"] == base.as_str())
        .unwrap_or_else(|| panic!("a pulled event for {base}:\n{}", run.stdout));
    assert!(pulled < first_build_event, "pulled before the first step");
    assert!(events.iter().any(|e| e["event"] == "pull-started"));
    assert!(image_exists(&base));
    assert!(image_exists(&tag));

    // The classic builder gets the image the same way, pulled beforehand.
    remove_images(&[&base, &tag]);
    let run = build(&project, config.path(), None, &["--backend", "dockerfile"]).success();
    assert!(
        run.stderr.contains(&format!("[pull] {base}: pulled")),
        "{}",
        run.describe()
    );
    assert!(image_exists(&tag));
}

#[test]
fn pull_always_picks_up_a_re_pushed_tag() {
    engine();
    let registry = Registry::start();
    let base = registry.image(&format!("{}:v1", unique("stages-reg-moving")));
    let tag = unique("stages-reg-app");
    let marker = unique("marker");
    let newer = unique("stages-reg-newer");
    let _cleanup = Cleanup(vec![base.clone(), tag.clone(), newer.clone()]);
    registry.push_only_there(BASE_IMAGE, &base);
    let project = Project::new(&from_image(&base, &tag));
    let config = tempfile::tempdir().unwrap();
    build(&project, config.path(), None, &[]).success();
    let first = inspect(&base).id;

    // A different image under the same tag in the registry.
    let dockerfile = tempfile::tempdir().unwrap();
    std::fs::write(
        dockerfile.path().join("Dockerfile"),
        format!("FROM {BASE_IMAGE}\nLABEL dev.stages.test.marker={marker}\n"),
    )
    .unwrap();
    docker(
        &[
            "build",
            "-q",
            "-t",
            &newer,
            &dockerfile.path().to_string_lossy(),
        ],
        None,
    );
    let pushed = {
        let keep_local = inspect(&base).id;
        let digest = registry.push_only_there(&newer, &base);
        // push_only_there removed the tag; put the old image back under it.
        docker(&["tag", keep_local.as_deref().unwrap(), &base], None);
        digest
    };
    assert_eq!(
        inspect(&base).id,
        first,
        "the Engine still has the old image"
    );

    let missing = build(&project, config.path(), None, &[]).success();
    assert!(!missing.stderr.contains("[pull]"), "{}", missing.describe());
    assert_eq!(label(&inspect(&tag), "dev.stages.test.marker"), None);

    let always = build(&project, config.path(), None, &["--pull", "always"]).success();
    assert!(
        always.stderr.contains(&pushed),
        "the pulled digest is shown:\n{}",
        always.describe()
    );
    assert_ne!(
        inspect(&base).id,
        first,
        "the tag moved to the re-pushed image"
    );
    assert_eq!(
        label(&inspect(&tag), "dev.stages.test.marker").as_deref(),
        Some(marker.as_str())
    );

    let again = build(&project, config.path(), None, &["--pull", "always"]).success();
    assert!(again.stderr.contains("up to date"), "{}", again.describe());
}

const USER: &str = "builder";
const PASSWORD: &str = "Pa55-stages-secret-7731";

/// Every byte a run printed holds no trace of the password.
#[track_caller]
fn assert_no_secret(run: &Run) {
    assert!(
        !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
        "the password leaked:\n{}",
        run.describe()
    );
}

#[test]
fn credentials_come_from_auths_and_from_a_credential_helper() {
    engine();
    let registry = Registry::start_with_auth(USER, PASSWORD);
    let base = registry.image(&format!("{}:v1", unique("stages-reg-private")));
    let tag = unique("stages-reg-app");
    let _cleanup = Cleanup(vec![base.clone(), tag.clone()]);
    registry.push_only_there(BASE_IMAGE, &base);
    let project = Project::new(&from_image(&base, &tag));

    // No credentials: one clear error naming registry, image and docker login.
    let anonymous = tempfile::tempdir().unwrap();
    let refused = build(&project, anonymous.path(), None, &[]).exit(2);
    let text = squashed(&refused);
    assert!(
        text.contains(&squash(&format!(
            "registry {} refused access to {base}",
            registry.host
        ))),
        "{}",
        refused.describe()
    );
    assert!(
        text.contains(&squash(&format!("docker login {}", registry.host))),
        "{}",
        refused.describe()
    );

    // `auths`, base64 user:password.
    let config = registry.docker_config(USER, PASSWORD);
    for progress in ["plain", "json"] {
        remove_images(&[&base]);
        let run = build(&project, config.path(), None, &["--progress", progress]).success();
        assert_no_secret(&run);
        assert!(image_exists(&base));
    }

    // A credential helper, asked with the registry host on standard input.
    let (helper_dir, asked) = credential_helper(USER, PASSWORD);
    let helper_config = tempfile::tempdir().unwrap();
    std::fs::write(
        helper_config.path().join("config.json"),
        format!(r#"{{"credHelpers": {{"{}": "test"}}}}"#, registry.host),
    )
    .unwrap();
    remove_images(&[&base]);
    let run = build(&project, helper_config.path(), Some(helper_dir.path()), &[]).success();
    assert_no_secret(&run);
    assert_eq!(std::fs::read_to_string(&asked).unwrap(), registry.host);
    // Nothing of the password in the image either.
    let image = inspect(&tag);
    assert!(!format!("{image:?}").contains(PASSWORD));
}

#[test]
fn a_wrong_password_is_refused_with_one_clear_error() {
    engine();
    let registry = Registry::start_with_auth(USER, PASSWORD);
    let base = registry.image(&format!("{}:v1", unique("stages-reg-private")));
    let tag = unique("stages-reg-app");
    let _cleanup = Cleanup(vec![base.clone(), tag.clone()]);
    registry.push_only_there(BASE_IMAGE, &base);
    let project = Project::new(&from_image(&base, &tag));
    let wrong = "Wr0ng-stages-password-5519";
    let config = registry.docker_config(USER, wrong);
    for progress in ["plain", "json"] {
        let run = build(&project, config.path(), None, &["--progress", progress]).exit(2);
        let text = squashed(&run);
        assert!(
            text.contains("stages::registry::denied"),
            "{}",
            run.describe()
        );
        assert!(text.contains(&base), "{}", run.describe());
        assert!(
            text.contains(&squash(&format!("docker login {}", registry.host))),
            "{}",
            run.describe()
        );
        assert!(
            !run.stdout.contains(wrong) && !run.stderr.contains(wrong),
            "{}",
            run.describe()
        );
    }
    assert!(!image_exists(&tag));
}

fn two_targets(app: &str, tools: &str, tools_step: &str) -> String {
    format!(
        r#"
[stages.base]
from = "{BASE_IMAGE}"
steps = [{{ run = "echo shared > /shared" }}]

[stages.app]
from = {{ stage = "base" }}
steps = [{{ run = "echo app > /app" }}]

[stages.tools]
from = {{ stage = "base" }}
steps = [{{ run = "{tools_step}" }}]

[targets.app]
stage = "app"
tags = ["{app}"]

[targets.tools]
stage = "tools"
tags = ["{tools}"]
"#
    )
}

/// Two tagged image targets in a registry, removed from the Engine at the end.
struct TwoTargets {
    app_name: String,
    tools_name: String,
    app: String,
    tools: String,
    project: Project,
    _cleanup: Cleanup,
}

impl TwoTargets {
    fn new(registry: &Registry, tools_step: &str) -> Self {
        let app_name = unique("stages-reg-push-app");
        let tools_name = unique("stages-reg-push-tools");
        let app = registry.image(&format!("{app_name}:1"));
        let tools = registry.image(&format!("{tools_name}:1"));
        let _cleanup = Cleanup(vec![app.clone(), tools.clone()]);
        let project = Project::new(&two_targets(&app, &tools, tools_step));
        Self {
            app_name,
            tools_name,
            app,
            tools,
            project,
            _cleanup,
        }
    }
}

#[test]
fn push_sends_every_tag_of_two_targets_and_prints_their_digests() {
    engine();
    let registry = Registry::start();
    let TwoTargets {
        app_name,
        tools_name,
        app,
        tools,
        project,
        _cleanup,
    } = TwoTargets::new(&registry, "echo tools > /tools");
    let config = tempfile::tempdir().unwrap();
    let run = build(&project, config.path(), None, &["app", "tools", "--push"]).success();
    for (name, reference) in [(&app_name, &app), (&tools_name, &tools)] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(&format!("pushed {reference} as ")))
            .unwrap_or_else(|| panic!("a pushed line for {reference}:\n{}", run.describe()));
        let printed = line.rsplit(' ').next().unwrap();
        let (repository, digest) = printed.split_once('@').unwrap();
        assert_eq!(repository, registry.image(name));
        assert!(digest.starts_with("sha256:"), "{line}");
        assert_eq!(registry.tags(name), vec!["1".to_owned()]);
        assert_eq!(registry.manifest_digest(name, "1").as_deref(), Some(digest));
    }

    // Quiet progress prints each name@digest on standard output.
    let quiet = build(
        &project,
        config.path(),
        None,
        &["app", "tools", "--push", "--progress", "quiet"],
    )
    .success();
    assert_eq!(
        quiet.stdout.matches("@sha256:").count(),
        2,
        "{}",
        quiet.describe()
    );
}

#[test]
fn a_refused_push_is_reported_per_tag_and_keeps_the_local_tags() {
    engine();
    let registry = Registry::start_with_auth(USER, PASSWORD);
    let TwoTargets {
        app_name,
        tools_name,
        app,
        tools,
        project,
        _cleanup,
    } = TwoTargets::new(&registry, "echo tools > /tools");
    let anonymous = tempfile::tempdir().unwrap();
    let run = build(
        &project,
        anonymous.path(),
        None,
        &["app", "tools", "--push"],
    )
    .exit(2);
    let text = squashed(&run);
    assert!(text.contains("pushed0of2tags"), "{}", run.describe());
    for tag in [&app, &tools] {
        assert!(
            text.contains(&squash(&format!("refused access to {tag}"))),
            "{}",
            run.describe()
        );
        assert!(image_exists(tag), "the local tag {tag} stays");
    }
    assert!(text.contains(&squash(&format!("docker login {}", registry.host))));
    assert!(registry.tags(&app_name).is_empty());

    // With credentials both go up.
    let config = registry.docker_config(USER, PASSWORD);
    let run = build(&project, config.path(), None, &["app", "tools", "--push"]).success();
    assert_no_secret(&run);
    assert_eq!(registry.tags(&app_name), vec!["1".to_owned()]);
    assert_eq!(registry.tags(&tools_name), vec!["1".to_owned()]);
}

#[test]
fn one_failed_target_pushes_nothing() {
    engine();
    let registry = Registry::start();
    let TwoTargets {
        app_name,
        tools_name,
        project,
        _cleanup,
        ..
    } = TwoTargets::new(&registry, "exit 3");
    let config = tempfile::tempdir().unwrap();
    let run = build(&project, config.path(), None, &["app", "tools", "--push"]);
    assert_ne!(run.code, Some(0), "{}", run.describe());
    assert!(!run.stderr.contains("pushed"), "{}", run.describe());
    assert!(registry.tags(&app_name).is_empty(), "app was not pushed");
    assert!(registry.tags(&tools_name).is_empty());
}

#[test]
fn an_unreadable_docker_config_is_a_warning_that_shows_no_secret() {
    engine();
    let tag = unique("stages-reg-app");
    let _cleanup = Cleanup(vec![tag.clone()]);
    let project = Project::new(&from_image(BASE_IMAGE, &tag));
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"auths": {{"r.io": {{"auth": "{PASSWORD}"#),
    )
    .unwrap();
    let run = build(&project, config.path(), None, &[]).success();
    assert!(
        run.stderr
            .contains("warning: cannot read Docker's client configuration"),
        "{}",
        run.describe()
    );
    assert_no_secret(&run);
    assert!(image_exists(&tag));
}

#[test]
fn push_without_a_tagged_target_is_an_error_before_building() {
    let project = Project::new(&format!(
        r#"
[stages.app]
from = "{BASE_IMAGE}"
steps = [{{ run = "mkdir -p /out && echo x > /out/x" }}]

[artifacts.x]
stage = "app"
path = "/out/x"

[targets.files]
artifacts = ["x"]
output = "dist/"
"#
    ));
    let config = tempfile::tempdir().unwrap();
    // An unreachable Engine shows that nothing was attempted.
    let run = build(
        &project,
        config.path(),
        None,
        &["--push", "-H", "unix:///nonexistent.sock"],
    )
    .exit(2);
    assert!(
        run.flat_stderr()
            .contains("no target of this build has a tag to push"),
        "{}",
        run.describe()
    );
    assert!(!project.path().join("dist").exists());
}

#[test]
fn a_registry_that_stops_answering_fails_in_bounded_time() {
    engine();
    let registry = Registry::start();
    let base = registry.image(&format!("{}:v1", unique("stages-reg-frozen")));
    let tag = unique("stages-reg-app");
    let _cleanup = Cleanup(vec![base.clone(), tag.clone()]);
    registry.push_only_there(BASE_IMAGE, &base);
    registry.freeze();
    let project = Project::new(&from_image(&base, &tag));
    let config = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = stages()
        .current_dir(project.path())
        .env("DOCKER_CONFIG", config.path())
        .args(["build", "--progress", "plain", "--registry-timeout", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A generous bound: a hang, not a timing, is what fails this test.
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("stages build still runs after 120 s against a silent registry");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let run = Run::from(child.wait_with_output().unwrap());
    assert_eq!(run.code, Some(2), "{}", run.describe());
    let text = squashed(&run);
    assert!(
        text.contains("stages::registry::timeout"),
        "{}",
        run.describe()
    );
    assert!(text.contains(&registry.host), "{}", run.describe());
}

#[test]
fn a_docker_context_names_the_engine() {
    engine();
    let config = tempfile::tempdir().unwrap();
    let write = |name: &str, host: &str| {
        let id = sha256_hex(name);
        let meta = config.path().join("contexts/meta").join(id);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
        )
        .unwrap();
    };
    write("local-engine", "unix:///var/run/docker.sock");
    write("nowhere", "unix:///nonexistent/stages-test.sock");
    std::fs::write(
        config.path().join("config.json"),
        r#"{"currentContext": "local-engine"}"#,
    )
    .unwrap();
    let tag = unique("stages-reg-ctx");
    let _cleanup = Cleanup(vec![tag.clone()]);
    let project = Project::new(&from_image(BASE_IMAGE, &tag));
    build(&project, config.path(), None, &[]).success();
    assert!(image_exists(&tag));
    let run = build(&project, config.path(), None, &["--context", "nowhere"]).exit(2);
    let text = squashed(&run);
    assert!(
        text.contains("unix:///nonexistent/stages-test.sock"),
        "{}",
        run.describe()
    );
    assert!(text.contains("context`nowhere`"), "{}", run.describe());
    let mut command = stages();
    let unknown = command
        .current_dir(project.path())
        .env("DOCKER_CONFIG", config.path())
        .env("DOCKER_CONTEXT", "absent")
        .args(["build", "--progress", "plain"])
        .output()
        .unwrap();
    let unknown = Run::from(unknown);
    assert!(
        squashed(&unknown).contains("`absent`doesnotexist"),
        "{}",
        unknown.describe()
    );
}

fn sha256_hex(text: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
