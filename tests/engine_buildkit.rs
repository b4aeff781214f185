//! `stages build --backend buildkit` against the real Engine's embedded
//! BuildKit: the context goes through stages' own session (only what
//! BuildKit asks for), image targets with build args, `--target`
//! semantics, `--no-cache` and tags; a failing RUN's diagnostic; artifact
//! targets; secrets; `auto`; Ctrl-C. FAILS when the Engine is unreachable.

mod engine_support;

use engine_support::{
    Project, Run, containers_labelled, engine, files, image_exists, inspect, label, remove_images,
    stages, unique,
};

/// `stages build --backend buildkit ARGS --progress plain` in the project.
fn buildkit(project: &Project, args: &[&str]) -> Run {
    let mut command = stages();
    command
        .current_dir(project.path())
        .args(["build", "--backend", "buildkit"]);
    if !args.contains(&"--progress") {
        command.args(["--progress", "plain"]);
    }
    command.args(args);
    Run::from(command.output().expect("run stages"))
}

/// The bytes the build says it sent.
fn bytes_sent(run: &Run) -> u64 {
    run.stderr
        .lines()
        .find_map(|l| {
            l.split("sent ")
                .nth(1)?
                .split(" bytes")
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no byte count:\n{}", run.describe()))
}

#[test]
fn an_image_target_builds_with_args_files_and_tags() {
    engine();
    let tag = format!("{}:v1", unique("stages-bk-image"));
    let project = Project::new(&format!(
        r#"[args]
GREETING = "hello"

[stages.base]
from = "busybox:stages-test"
steps = [{{ run = "echo base > /base.txt" }}]

[stages.app]
from = {{ stage = "base" }}
args = {{ GREETING = {{}} }}
workdir = "/app"
steps = [
  {{ copy = "src/", to = "/app/src/" }},
  {{ copy = "run.sh", to = "/app/run.sh" }},
  {{ run = "echo ${{GREETING}} > /app/greeting.txt" }},
]
cmd = ["/app/run.sh"]

[stages.unused]
from = "busybox:stages-test"
steps = [{{ run = "exit 1" }}]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    ))
    .file("src/a.txt", "a\n")
    .file("src/deep/b.txt", "b\n")
    .file("run.sh", "#!/bin/sh\necho run\n")
    .file(".dockerignore", "src/deep\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let script = project.path().join("run.sh");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o750)).unwrap();
        std::os::unix::fs::symlink("a.txt", project.path().join("src/link")).unwrap();
    }
    let run = buildkit(&project, &["--build-arg", "GREETING=bonjour"]).success();
    // Progress names the stages and their steps.
    assert!(run.stderr.contains("[app]"), "{}", run.describe());
    assert!(run.stderr.contains("[base]"), "{}", run.describe());
    let image = inspect(&tag);
    let config = image.config.clone().expect("config");
    assert_eq!(config.cmd, Some(vec!["/app/run.sh".to_owned()]));
    assert_eq!(config.working_dir.as_deref(), Some("/app"));
    // The image carries the labels the user asked for, none of stages' own.
    assert_eq!(label(&image, "dev.stages.stage"), None);
    let app = files(&tag, "/app");
    assert_eq!(app["app/greeting.txt"].text(), "bonjour\n");
    assert_eq!(app["app/src/a.txt"].text(), "a\n");
    assert_eq!(app["app/run.sh"].mode, 0o750);
    // .dockerignore as Docker applies it.
    assert!(!app.contains_key("app/src/deep/b.txt"), "{:?}", app.keys());
    // A symlink stays a symlink, owned by root as the docker CLI sends it.
    #[cfg(unix)]
    {
        assert_eq!(app["app/src/link"].link.as_deref(), Some("a.txt"));
        assert_eq!((app["app/src/a.txt"].uid, app["app/src/a.txt"].gid), (0, 0));
    }
    assert_eq!(files(&tag, "/base.txt")["base.txt"].text(), "base\n");

    // Warm: nothing it reads changed, so BuildKit is not asked.
    let warm = buildkit(&project, &["--build-arg", "GREETING=bonjour"]).success();
    assert!(
        warm.stderr.contains("[app] up to date"),
        "{}",
        warm.describe()
    );
    // The image gone, the solve finds every step in BuildKit's cache; with
    // --no-cache none is.
    remove_images(&[&tag]);
    let cached = buildkit(&project, &["--build-arg", "GREETING=bonjour"]).success();
    assert!(
        cached.stderr.contains("[app] cached"),
        "{}",
        cached.describe()
    );
    let cold = buildkit(&project, &["--build-arg", "GREETING=bonjour", "--no-cache"]).success();
    assert!(!cold.stderr.contains("[app] cached"), "{}", cold.describe());
    remove_images(&[&tag]);
}

#[test]
fn an_unused_200_mb_file_is_not_sent() {
    engine();
    let tag = format!("{}:v1", unique("stages-bk-context"));
    let project = Project::new(&format!(
        r#"[stages.app]
from = "busybox:stages-test"
steps = [{{ copy = "small.txt", to = "/small.txt" }}]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    ))
    .file("small.txt", "small\n");
    let big = std::fs::File::create(project.path().join("big.bin")).expect("create");
    big.set_len(200 * 1024 * 1024).expect("200 MB");
    drop(big);
    let run = buildkit(&project, &[]).success();
    let sent = bytes_sent(&run);
    // The Dockerfile and small.txt; never the 200 MB.
    assert!(
        sent > 0 && sent < 64 * 1024,
        "sent {sent}:\n{}",
        run.describe()
    );
    assert_eq!(files(&tag, "/small.txt")["small.txt"].text(), "small\n");
    remove_images(&[&tag]);
}

#[test]
fn a_failing_run_names_the_stage_and_step_with_its_output() {
    engine();
    let marker = unique("bk-failing-run");
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
    let run = buildkit(&project, &["broken"]).exit(1);
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
    assert!(err.contains("stages.toml:9:3"), "{}", run.describe());
    assert!(containers_labelled("dev.stages.test", &marker).is_empty());
}

/// Each entry under `root`: its kind, permission bits, and its bytes or
/// link target.
#[cfg(unix)]
fn tree(root: &std::path::Path) -> std::collections::BTreeMap<String, (char, u32, String)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = std::collections::BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            let name = path
                .strip_prefix(root)
                .expect("inside")
                .display()
                .to_string();
            let mode = meta.permissions().mode() & 0o7777;
            let (kind, what) = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                ('l', target.display().to_string())
            } else if meta.is_dir() {
                pending.push(path.clone());
                ('d', String::new())
            } else {
                ('f', std::fs::read_to_string(&path).expect("text file"))
            };
            found.insert(name, (kind, mode, what));
        }
    }
    found
}

#[cfg(unix)]
#[test]
fn artifact_targets_come_back_through_the_local_exporter_as_native_writes_them() {
    engine();
    let marker = unique("bk-artifacts");
    let project = Project::new(&format!(
        r#"[stages.build]
from = "busybox:stages-test"
steps = [{{ run = """mkdir -p /out/tree/nested/deeper && echo {marker} > /out/app && chmod 0750 /out/app \
  && echo n > /out/tree/nested/n.txt && echo d > /out/tree/nested/deeper/d.txt \
  && chmod 0700 /out/tree/nested/deeper && ln -s nested/n.txt /out/tree/link \
  && printf '#!/bin/sh\\necho run\\n' > /out/tree/run.sh && chmod 0755 /out/tree/run.sh \
  && ln /out/tree/run.sh /out/tree/run-again.sh""" }}]

[artifacts.app]
stage = "build"
path = "/out/app"

[artifacts.tree]
stage = "build"
path = "/out/tree/"

[targets.dist]
artifacts = ["app", "tree"]
output = "dist/"
"#
    ))
    .file("dist/kept.txt", "kept\n");
    let run = buildkit(&project, &["dist"]).success();
    // The target's own stage, made of the artifacts, is solved and sent back.
    assert!(
        run.stderr
            .contains("[dist] step 1/2: COPY --from=build /out/app /app"),
        "{}",
        run.describe()
    );
    let native_out = tempfile::tempdir().expect("temp dir");
    let output = format!("dist={}", native_out.path().join("dist").display());
    let native = Run::from(
        stages()
            .current_dir(project.path())
            .args([
                "build",
                "--backend",
                "native",
                "--progress",
                "plain",
                "dist",
            ])
            .args(["--output", &output])
            .output()
            .expect("run stages"),
    )
    .success();
    let from_buildkit = tree(&project.path().join("dist"));
    let mut from_native = tree(&native_out.path().join("dist"));
    from_native.insert("kept.txt".into(), ('f', 0o644, "kept\n".into()));
    assert_eq!(from_buildkit, from_native, "{}", native.describe());
    assert_eq!(from_buildkit["app"], ('f', 0o750, format!("{marker}\n")));
    assert_eq!(
        from_buildkit["tree/run.sh"],
        ('f', 0o755, "#!/bin/sh\necho run\n".into())
    );
    assert_eq!(
        from_buildkit["tree/link"],
        ('l', 0o777, "nested/n.txt".into())
    );
    assert_eq!(from_buildkit["tree/nested/deeper"].1, 0o700);
    assert_eq!(from_buildkit["tree/nested/deeper/d.txt"].2, "d\n");
    let left: Vec<_> = std::fs::read_dir(project.path())
        .expect("project")
        .map(|e| e.expect("entry").file_name().into_string().expect("name"))
        .filter(|n| n.starts_with(".stages-"))
        .collect();
    assert!(left.is_empty(), "staging left behind: {left:?}");
}

#[test]
fn a_missing_artifact_is_named_with_its_path_and_nothing_is_written() {
    engine();
    let project = Project::new(
        r#"[stages.build]
from = "busybox:stages-test"
steps = [{ run = "mkdir -p /out && echo app > /out/app" }]

[artifacts.app]
stage = "build"
path = "/out/app"

[artifacts.gone]
stage = "build"
path = "/out/never-written"

[targets.dist]
artifacts = ["app", "gone"]
output = "dist/"
"#,
    );
    let run = buildkit(&project, &["dist"]).exit(1);
    assert!(
        run.stderr.contains(
            "artifact `gone`: `/out/never-written` does not exist in the image of stage `build`"
        ),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("stages.toml:11:8"),
        "{}",
        run.describe()
    );
    assert!(!project.path().join("dist").exists(), "{}", run.describe());
}

/// A target named like a stage cannot be a Dockerfile stage of its own:
/// its files are copied out of the stage's image instead, the same files.
#[test]
fn an_artifact_target_named_like_a_stage_is_copied_out_of_its_image() {
    engine();
    let marker = unique("bk-copied-out");
    let project = Project::new(&format!(
        r#"[stages.build]
from = "busybox:stages-test"
steps = [{{ run = "mkdir -p /out && echo {marker} > /out/app" }}]

[artifacts.app]
stage = "build"
path = "/out/app"

[targets.build]
artifacts = ["app"]
output = "dist/"
"#
    ));
    let run = buildkit(&project, &["build"]).success();
    assert!(!run.stderr.contains("COPY --from"), "{}", run.describe());
    assert_eq!(
        std::fs::read_to_string(project.path().join("dist/app")).expect("dist/app"),
        format!("{marker}\n")
    );
}

#[test]
fn a_secret_is_read_by_its_step_and_kept_out_of_every_layer() {
    engine();
    let tag = format!("{}:v1", unique("stages-bk-secret"));
    let project = Project::new(&format!(
        r#"[stages.app]
from = "busybox:stages-test"
steps = [
  {{ run = "wc -c < /run/secrets/token > /token-length && sha256sum < /run/secrets/token > /token-found", mounts = [{{ type = "secret", id = "token" }}] }},
]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    ))
    .file("token.txt", "s3cr3t-value\n");
    let secret = format!(
        "id=token,src={}",
        project.path().join("token.txt").display()
    );
    buildkit(&project, &["--secret", &secret]).success();
    let found = files(&tag, "/token-found");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"s3cr3t-value\n"));
    assert!(found["token-found"].text().starts_with(&digest));
    let length = files(&tag, "/token-length");
    assert_eq!(length["token-length"].text().trim(), "13");
    let history = std::process::Command::new("docker")
        .args(["save", &tag])
        .output()
        .expect("docker save");
    assert!(
        !history
            .stdout
            .windows(b"s3cr3t-value".len())
            .any(|w| w == b"s3cr3t-value"),
        "the secret is in the saved image"
    );
    remove_images(&[&tag]);
}

#[test]
fn auto_chooses_buildkit_on_this_engine_and_says_so() {
    engine();
    let tag = format!("{}:v1", unique("stages-bk-auto"));
    let project = Project::new(&format!(
        r#"[stages.app]
from = "busybox:stages-test"
steps = [{{ run = "echo auto > /auto.txt" }}]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    ));
    let run = Run::from(
        stages()
            .current_dir(project.path())
            .env_remove("STAGES_BACKEND")
            .args(["build", "--progress", "plain"])
            .output()
            .expect("run stages"),
    )
    .success();
    assert!(
        run.stderr
            .contains("backend: buildkit (auto: the Engine offers BuildKit)"),
        "{}",
        run.describe()
    );
    assert!(image_exists(&tag));
    remove_images(&[&tag]);
}

#[test]
fn tags_move_only_when_every_target_built() {
    engine();
    let tag = format!("{}:v1", unique("stages-bk-tags"));
    let project = Project::new(&format!(
        r#"[stages.good]
from = "busybox:stages-test"
steps = [{{ run = "echo good > /good.txt" }}]

[stages.bad]
from = "busybox:stages-test"
steps = [{{ run = "exit 7" }}]

[targets.good]
stage = "good"
tags = ["{tag}"]

[targets.bad]
stage = "bad"
"#
    ));
    buildkit(&project, &["good", "bad"]).exit(1);
    assert!(!image_exists(&tag), "a tag moved although a target failed");
    buildkit(&project, &["good"]).success();
    assert!(image_exists(&tag));
    remove_images(&[&tag]);
}

#[test]
fn check_reports_what_the_built_in_frontend_cannot_express() {
    let project = Project::new(
        r#"[stages.app]
from = "busybox:stages-test"
steps = [{ run = """
echo one
echo two
""" }]
"#,
    );
    let run = Run::from(
        stages()
            .current_dir(project.path())
            .args(["check", "--backend", "buildkit"])
            .output()
            .expect("run stages"),
    );
    let text = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.code, Some(0), "{}", run.describe());
    assert!(
        text.contains(
            "the Engine's built-in BuildKit frontend cannot express multi-line `run` commands"
        ),
        "{}",
        run.describe()
    );
}

/// Two projects whose Dockerfiles have one size and differ only in a file
/// name (`app.go` and `web.go`, as skaffold's two services): BuildKit keeps
/// what a session sent before, and must not take the second project's
/// Dockerfile for the first one's.
#[test]
fn a_dockerfile_of_the_same_size_as_the_last_one_is_read_anew() {
    engine();
    let mut tags = Vec::new();
    for name in ["app", "web"] {
        let tag = format!("{}:v1", unique(&format!("stages-bk-same-size-{name}")));
        let project = Project::new(&format!(
            r#"[stages.svc]
from = "busybox:stages-test"
steps = [{{ copy = "{name}.go", to = "/{name}.go" }}]

[targets.svc]
stage = "svc"
tags = ["{tag}"]
"#
        ))
        .file(&format!("{name}.go"), name);
        buildkit(&project, &[]).success();
        assert_eq!(
            files(&tag, &format!("/{name}.go"))[&format!("{name}.go")].text(),
            name
        );
        tags.push(tag);
    }
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    remove_images(&tags);
}
