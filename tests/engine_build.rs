//! `stages build --backend dockerfile` against the real Engine: the
//! quickstart, every step kind the classic builder supports, image config
//! and files checked through bollard, tags, progress formats, build args.

mod engine_support;

use engine_support::{Project, engine, files, inspect, label, remove_images, stages, unique};

#[test]
fn quickstart_builds_its_image_and_exports_its_artifacts() {
    engine();
    let source = engine_support::repo_root().join("examples/quickstart");
    let dir = tempfile::tempdir().expect("temp dir");
    let tag = format!("{}:latest", unique("stages-quickstart"));
    for name in ["greet.sh.in", "message.txt", ".dockerignore"] {
        std::fs::copy(source.join(name), dir.path().join(name)).expect("copy example");
    }
    let toml = std::fs::read_to_string(source.join("stages.toml"))
        .expect("read example")
        .replace("stages-quickstart:latest", &tag);
    std::fs::write(dir.path().join("stages.toml"), &toml).expect("write");
    let project = Project { dir };
    project.build(&[]).success();

    let image = inspect(&tag);
    let config = image.config.clone().expect("config");
    assert_eq!(config.cmd, Some(vec!["greet".to_owned()]));
    assert_eq!(config.user.as_deref(), Some("nobody"));
    assert_eq!(config.working_dir.as_deref(), Some("/home"));
    let env = config.env.clone().unwrap_or_default();
    assert!(
        env.contains(&"PATH=/usr/local/bin:/bin".to_owned()),
        "{env:?}"
    );
    // Exactly the labels the user asked for: none of the build's own (a
    // digest of stages.toml would move the tag on a comment's change).
    let labels: std::collections::BTreeMap<String, String> = config
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    assert_eq!(
        labels,
        [(
            "org.opencontainers.image.description".to_owned(),
            "stages quickstart".to_owned()
        )]
        .into_iter()
        .collect()
    );

    let program = &files(&tag, "/usr/local/bin/greet")["greet"];
    assert_eq!(program.mode, 0o755);
    assert!(
        program
            .text()
            .contains("Hello, ${1:-world}: built by stages")
    );
    // Only the program came in from the builder.
    assert!(!files(&tag, "/").contains_key("out"));

    let dist = project.path().join("dist");
    let exported = std::fs::read_to_string(dist.join("greet")).expect("dist/greet");
    assert_eq!(exported, program.text());
    let checksum = std::fs::read_to_string(dist.join("greet.sha256")).expect("checksum");
    assert!(checksum.ends_with("  /out/greet\n"), "{checksum}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dist.join("greet"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    // No staging directory is left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(project.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".stages-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    remove_images(&[&tag]);
}

fn bundle_tar() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_path("bundle/x.txt").expect("path");
    header.set_size(7);
    header.set_mode(0o640);
    header.set_cksum();
    builder.append(&header, &b"bundled"[..]).expect("append");
    builder.into_inner().expect("tar")
}

const EVERY_KIND: &str = r#"
[project]
name = "kinds"

[args]
BASE = "busybox:stages-test"
VERSION = "0.0.0"

[stages.assets]
from = "busybox:stages-test"
steps = [
  { run = "mkdir -p /assets && echo asset > /assets/a.txt" },
]

[artifacts.asset]
stage = "assets"
path = "/assets/a.txt"

[stages.app]
from = "${BASE}"
args = { VERSION = {} }
env = { APP_HOME = "/app" }
workdir = "/app"
shell = ["/bin/sh", "-c"]
steps = [
  { copy = "src/hello.txt", to = "./hello.txt", chown = "65534:65534" },
  { copy = ["src/a.conf", "src/b.conf"], to = "/etc/app/" },
  { add = "bundle.tar", to = "/opt/" },
  { copy = "/assets/a.txt", to = "/app/from-stage.txt", from = "assets" },
  { artifact = "asset", to = "/app/artifact.txt" },
  { copy = "/bin/busybox", to = "/app/bb", from-image = "busybox:stages-test" },
  { run = "echo \"$VERSION\" > version.txt" },
  { run = ["/bin/sh", "-c", "echo exec > exec.txt"] },
  { env = { STEP_ENV = "yes" } },
  { arg = { LATE = "late-default" } },
  { run = "echo $LATE > late.txt && echo $STEP_ENV > env.txt" },
  { workdir = "/data" },
  { run = "touch in-data" },
  { shell = ["/bin/sh", "-ec"] },
  { user = "nobody" },
  { run = "id -u > /tmp/uid.txt" },
]
entrypoint = ["/bin/sh", "-c"]
cmd = ["echo hi"]
expose = [8080, "53/udp"]
labels = { "com.example.kind" = "all" }
volumes = ["/data"]
healthcheck = { cmd = ["true"], interval = "30s", retries = 3 }
stop-signal = "SIGTERM"
onbuild = ["RUN echo child"]

[targets.kinds]
stage = "app"
tags = ["TAG"]
args = { VERSION = "1.2.3" }
labels = { "com.example.note" = 'costs $5 "now" \ for ${VERSION}' }
"#;

#[test]
fn every_step_kind_lands_in_the_image() {
    engine();
    let tag = format!("{}:v1", unique("stages-kinds"));
    let project = Project::new(&EVERY_KIND.replace("TAG", &tag))
        .file("src/hello.txt", "hello\n")
        .file("src/a.conf", "a=1\n")
        .file("src/b.conf", "b=2\n");
    std::fs::write(project.path().join("bundle.tar"), bundle_tar()).expect("bundle");
    project.build(&[]).success();

    let image = inspect(&tag);
    let config = image.config.clone().expect("config");
    let env = config.env.clone().unwrap_or_default();
    for wanted in ["APP_HOME=/app", "STEP_ENV=yes", "PATH=/bin"] {
        assert!(env.contains(&wanted.to_owned()), "{wanted} not in {env:?}");
    }
    assert_eq!(
        config.entrypoint,
        Some(vec!["/bin/sh".to_owned(), "-c".to_owned()])
    );
    assert_eq!(config.cmd, Some(vec!["echo hi".to_owned()]));
    assert_eq!(config.working_dir.as_deref(), Some("/data"));
    assert_eq!(config.user.as_deref(), Some("nobody"));
    assert_eq!(
        config.shell,
        Some(vec!["/bin/sh".to_owned(), "-ec".to_owned()])
    );
    let ports: Vec<String> = config
        .exposed_ports
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    assert!(ports.contains(&"8080/tcp".to_owned()), "{ports:?}");
    assert!(ports.contains(&"53/udp".to_owned()), "{ports:?}");
    let volumes: Vec<String> = config
        .volumes
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    assert_eq!(volumes, vec!["/data".to_owned()]);
    assert_eq!(config.stop_signal.as_deref(), Some("SIGTERM"));
    assert_eq!(config.on_build, Some(vec!["RUN echo child".to_owned()]));
    let health = config.healthcheck.clone().expect("healthcheck");
    assert_eq!(health.test, Some(vec!["CMD".to_owned(), "true".to_owned()]));
    assert_eq!(health.interval, Some(30_000_000_000));
    assert_eq!(health.retries, Some(3));
    assert_eq!(label(&image, "com.example.kind").as_deref(), Some("all"));
    assert_eq!(
        label(&image, "com.example.note").as_deref(),
        Some(r#"costs $5 "now" \ for ${VERSION}"#)
    );
    assert_eq!(label(&image, "dev.stages.stage"), None);
    assert_eq!(label(&image, "org.opencontainers.image.title"), None);

    let app = files(&tag, "/app");
    let hello = &app["app/hello.txt"];
    assert_eq!((hello.uid, hello.gid), (65534, 65534));
    assert_eq!(hello.text(), "hello\n");
    assert_eq!(app["app/from-stage.txt"].text(), "asset\n");
    assert_eq!(app["app/artifact.txt"].text(), "asset\n");
    assert_eq!(app["app/bb"].mode, 0o755);
    assert_eq!(app["app/version.txt"].text(), "1.2.3\n");
    assert_eq!(app["app/exec.txt"].text(), "exec\n");
    assert_eq!(app["app/late.txt"].text(), "late-default\n");
    assert_eq!(app["app/env.txt"].text(), "yes\n");
    let conf = files(&tag, "/etc/app");
    assert_eq!(conf["app/a.conf"].text(), "a=1\n");
    assert_eq!(conf["app/b.conf"].text(), "b=2\n");
    let opt = files(&tag, "/opt");
    let bundled = &opt["opt/bundle/x.txt"];
    assert_eq!(bundled.text(), "bundled");
    assert_eq!(bundled.mode, 0o640);
    assert!(files(&tag, "/data").contains_key("data/in-data"));
    assert_eq!(files(&tag, "/tmp/uid.txt")["uid.txt"].text(), "65534\n");
    remove_images(&[&tag]);
}

#[test]
fn build_args_override_target_args() {
    engine();
    let tag = format!("{}:v1", unique("stages-args"));
    let project = Project::new(&format!(
        r#"
[args]
VERSION = "0"

[stages.app]
from = "busybox:stages-test"
args = {{ VERSION = {{}}, REVISION = {{}} }}
steps = [{{ run = "echo $VERSION > /version" }}]

[targets.app]
stage = "app"
tags = ["{tag}"]
args = {{ VERSION = "from-target" }}
"#
    ));
    project.build(&[]).success();
    assert_eq!(files(&tag, "/version")["version"].text(), "from-target\n");
    project
        .build(&[
            "--build-arg",
            "VERSION=from-cli",
            "--build-arg",
            "REVISION=abc123",
        ])
        .success();
    assert_eq!(files(&tag, "/version")["version"].text(), "from-cli\n");
    // A build argument is no label: the image carries only the user's.
    assert_eq!(
        label(&inspect(&tag), "org.opencontainers.image.revision"),
        None
    );
    remove_images(&[&tag]);
}

#[test]
fn a_failed_build_moves_no_tag() {
    engine();
    let tag = format!("{}:v1", unique("stages-keep-tag"));
    let good = format!(
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [{{ run = \"echo one > /v\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\n"
    );
    let project = Project::new(&good);
    project.build(&[]).success();
    let before = inspect(&tag).id;
    let bad = good.replace("echo one > /v", "echo two > /v && exit 7");
    std::fs::write(project.path().join("stages.toml"), bad).expect("write");
    project.build(&[]).exit(1);
    assert_eq!(
        inspect(&tag).id,
        before,
        "the tag moved after a failed build"
    );
    remove_images(&[&tag]);
}

#[test]
fn json_progress_is_one_object_per_line_and_quiet_prints_the_image_id() {
    engine();
    let tag = format!("{}:v1", unique("stages-progress"));
    let project = Project::new(&format!(
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [{{ run = \"echo progress-output\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\n"
    ));
    let run = project
        .build(&["--progress", "json", "--no-cache"])
        .success();
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for wanted in ["target-started", "step", "output", "image-built", "tagged"] {
        assert!(kinds.contains(&wanted), "{wanted} missing in {kinds:?}");
    }
    // The native back end runs stages at once and reports each start and end.
    let native = stages()
        .current_dir(project.path())
        .args(["build", "--progress", "json", "--no-cache"])
        .output()
        .expect("run stages");
    assert!(native.status.success());
    let native_kinds: Vec<String> = String::from_utf8_lossy(&native.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| e["event"].as_str().map(str::to_owned))
        .collect();
    let position = |kind: &str| {
        native_kinds
            .iter()
            .position(|k| k == kind)
            .unwrap_or_else(|| panic!("no {kind} in {native_kinds:?}"))
    };
    assert!(
        position("stage-started") < position("step") && position("step") < position("stage-done"),
        "{native_kinds:?}"
    );
    assert!(
        events.iter().any(|e| e["event"] == "output"
            && e["line"] == "progress-output"
            && e["stage"] == "app")
    );

    let quiet = project.build(&["--progress", "quiet"]).success();
    let id = inspect(&tag).id.expect("id");
    assert_eq!(quiet.stdout.trim(), id);
    remove_images(&[&tag]);
}

#[test]
fn a_directory_artifact_keeps_its_tree_modes_and_inner_links() {
    engine();
    let project = Project::new(
        r#"[stages.site]
from = "busybox:stages-test"
steps = [
  { run = "mkdir -p /out/site/css /out/site/bin && echo '<h1>hi</h1>' > /out/site/index.html && echo 'body{}' > /out/site/css/main.css && printf '#!/bin/sh\\necho tool\\n' > /out/site/bin/tool && chmod 0750 /out/site/bin/tool && ln -s index.html /out/site/home.html" },
]

[artifacts.site]
stage = "site"
path = "/out/site"

[targets.site]
artifacts = ["site"]
output = "public/"
"#,
    )
    .file("public/unrelated.txt", "stays");
    project.build(&[]).success();
    let public = project.path().join("public");
    assert_eq!(
        std::fs::read_to_string(public.join("site/index.html")).expect("index"),
        "<h1>hi</h1>\n"
    );
    assert_eq!(
        std::fs::read_to_string(public.join("site/css/main.css")).expect("css"),
        "body{}\n"
    );
    let link = std::fs::read_link(public.join("site/home.html")).expect("inner link kept");
    assert_eq!(link, std::path::PathBuf::from("index.html"));
    assert_eq!(
        std::fs::read_to_string(public.join("unrelated.txt")).expect("unrelated"),
        "stays"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(public.join("site/bin/tool"))
            .expect("tool")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
    }
    // A second export replaces the artifact and still keeps the rest.
    project.build(&[]).success();
    assert!(public.join("site/index.html").is_file());
    assert!(public.join("unrelated.txt").is_file());
}

#[cfg(unix)]
#[test]
fn the_live_view_runs_on_a_terminal() {
    engine();
    let tag = format!("{}:v1", unique("stages-tty"));
    let project = Project::new(&format!(
        "[stages.one]\nfrom = \"busybox:stages-test\"\nsteps = [{{ run = \"echo one > /one\" }}]\n\n[stages.two]\nfrom = \"busybox:stages-test\"\nsteps = [{{ copy = \"/one\", to = \"/one\", from = \"one\" }}]\n\n[targets.app]\nstage = \"two\"\ntags = [\"{tag}\"]\n"
    ));
    // `script` gives the build a pseudo-terminal, as an interactive shell would.
    let command = format!(
        "{} build --backend dockerfile --progress tty",
        env!("CARGO_BIN_EXE_stages")
    );
    let out = std::process::Command::new("script")
        .current_dir(project.path())
        .args(["-qec", &command, "/dev/null"])
        .env_remove("DOCKER_HOST")
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("✔ app: built sha256:"), "{text}");
    assert!(text.contains(&format!("✔ app: tagged {tag}")), "{text}");
    assert!(text.contains("one"), "{text}");
    remove_images(&[&tag]);
}

/// The `sent` event of `--progress json`: bytes of contexts and uploads.
fn bytes_sent(stdout: &str) -> u64 {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["event"] == "sent")
        .and_then(|e| e["bytes"].as_u64())
        .unwrap_or_else(|| panic!("no sent event in {stdout}"))
}

#[test]
fn each_back_end_reports_the_bytes_it_sent() {
    engine();
    let tag = format!("{}:v1", unique("stages-sent"));
    let unused = "x".repeat(1 << 20);
    let project = Project::new(&format!(
        "[stages.app]\nfrom = \"busybox:stages-test\"\nsteps = [{{ copy = \"used.txt\", to = \"/used.txt\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\n"
    ))
    .file("used.txt", "the only file a COPY reads\n")
    .file("unused.bin", &unused);

    // The classic builder is sent the whole context, the unused file too.
    let classic = project
        .build(&["--progress", "json", "--no-cache"])
        .success();
    let classic_sent = bytes_sent(&classic.stdout);
    assert!(classic_sent > 1 << 20, "classic sent {classic_sent} bytes");

    // The native back end uploads only what its COPY reads.
    let native = engine_support::stages()
        .current_dir(project.path())
        .args(["build", "--progress", "json", "--no-cache"])
        .output()
        .expect("run stages");
    assert!(native.status.success(), "{native:?}");
    let native_sent = bytes_sent(&String::from_utf8_lossy(&native.stdout));
    assert!(
        native_sent > 0 && native_sent < 64 * 1024,
        "native sent {native_sent} bytes"
    );
    remove_images(&[&tag]);
}
