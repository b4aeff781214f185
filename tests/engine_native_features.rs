//! `stages build` with the native back end (the default) against the real
//! Engine: RUN mounts (cache, secret, tmpfs, bind from a stage), parallel
//! independent stages, a failing step reported on stages.toml with nothing
//! left behind (`engine_cache.rs` has the step cache). FAILS when the
//! Engine is unreachable.

mod engine_support;

use engine_support::{
    Project, Run, engine, files, remove_cache_volumes, remove_images, stages, unique,
};

fn build(project: &Project, extra: &[&str]) -> Run {
    let output = stages()
        .current_dir(project.path())
        .args(["build", "--progress", "plain"])
        .args(extra)
        .output()
        .expect("run stages");
    Run::from(output)
}

#[test]
fn run_mounts_reach_the_step_and_never_the_image() {
    engine();
    let tag = unique("stages-mounts");
    let cache_id = unique("cache");
    let toml = format!(
        r#"
[stages.tools]
from = "busybox:stages-test"
steps = [{{ run = "mkdir -p /tools && echo tool > /tools/t" }}]

[stages.app]
from = "busybox:stages-test"
steps = [
  {{ run = "echo run >> /cache/log && cat /cache/log | wc -l > /runs", mounts = [{{ type = "cache", id = "{cache_id}", target = "/cache" }}] }},
  {{ run = "cat /run/secrets/token > /seen-len-src && wc -c < /run/secrets/token > /secret-len && rm /seen-len-src", mounts = [{{ type = "secret", id = "token", required = true }}] }},
  {{ run = "echo scratch > /scratch/x && cp /t/t /copied && ! test -e /tools-bind-written", mounts = [{{ type = "tmpfs", target = "/scratch" }}, {{ type = "bind", from = "tools", source = "/tools", target = "/t" }}] }},
]

[targets.app]
stage = "app"
tags = ["{tag}:latest"]
"#
    );
    let project = Project::new(&toml).file("token.txt", "s3cret");
    let secret = format!(
        "id=token,src={}",
        project.path().join("token.txt").display()
    );
    build(&project, &["--secret", &secret]).success();
    let image = format!("{tag}:latest");
    let tree = files(&image, "/");
    let text = |path: &str| {
        tree.iter()
            .find(|(p, _)| p.trim_start_matches("./").trim_start_matches('/') == path)
            .map(|(_, e)| e.text())
            .unwrap_or_else(|| panic!("{path} missing from the image"))
    };
    assert_eq!(text("runs").trim(), "1");
    assert_eq!(text("secret-len").trim(), "6");
    assert_eq!(text("copied"), "tool\n");
    let leaked = |name: &str| {
        tree.keys().any(|p| {
            p.trim_start_matches("./")
                .trim_start_matches('/')
                .starts_with(name)
        })
    };
    assert!(!leaked("scratch/x"), "the tmpfs content was committed");
    assert!(
        !leaked("cache/log"),
        "the cache mount content was committed"
    );
    for (path, entry) in &tree {
        assert!(
            !entry.contents.windows(6).any(|w| w == b"s3cret"),
            "the secret leaked into {path}"
        );
    }

    // Without the secret the build is refused before anything runs.
    let refused = build(&project, &[]).exit(1);
    assert!(
        refused.stderr.contains("requires secret `token`"),
        "{}",
        refused.describe()
    );

    // The cache mount keeps its content across builds.
    build(&project, &["--secret", &secret, "--no-cache"]).success();
    let tree = files(&image, "/");
    let runs = tree
        .iter()
        .find(|(p, _)| p.trim_start_matches("./").trim_start_matches('/') == "runs")
        .map(|(_, e)| e.text())
        .unwrap_or_default();
    assert_eq!(runs.trim(), "2");
    remove_images(&[&image]);
    remove_cache_volumes(&cache_id);
}

#[test]
fn a_failing_step_is_reported_on_stages_toml_and_leaves_no_container() {
    engine();
    let marker = unique("fail");
    let toml = format!(
        r#"
[stages.ok]
from = "busybox:stages-test"
steps = [{{ run = "echo {marker}-ok > /ok" }}]

[stages.bad]
from = "busybox:stages-test"
steps = [{{ run = "echo {marker}-output && exit 3" }}]

[stages.final]
from = "busybox:stages-test"
steps = [
  {{ copy = "/ok", from = "ok", to = "/" }},
  {{ copy = "/ok", from = "bad", to = "/" }},
]
"#
    );
    let project = Project::new(&toml);
    let run = build(&project, &["final", "--keep-going"]).exit(1);
    let stderr = run.flat_stderr();
    assert!(
        stderr.contains("stages::engine::step-failed"),
        "{}",
        run.describe()
    );
    assert!(stderr.contains("exited with code 3"), "{}", run.describe());
    assert!(
        stderr.contains(&format!("{marker}-output")),
        "{}",
        run.describe()
    );
    assert!(
        stderr.contains("stages.toml"),
        "the diagnostic points into the file: {}",
        run.describe()
    );
    let output = std::process::Command::new("docker")
        .args(["ps", "-a", "-q", "--filter", "label=dev.stages.build"])
        .output()
        .expect("docker ps");
    let left: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    // Other builds may run at the same time; none of ours may be left.
    for container in left {
        let inspect = std::process::Command::new("docker")
            .args(["inspect", "--format", "{{.Config.Entrypoint}}", &container])
            .output()
            .expect("docker inspect");
        let entrypoint = String::from_utf8_lossy(&inspect.stdout).into_owned();
        assert!(
            !entrypoint.contains(&marker),
            "container {container} was left behind"
        );
    }
}
