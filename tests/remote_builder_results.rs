//! What remote builders leave behind, end to end on two real `buildkitd`
//! daemons and a real registry (`buildkitd_support`): artifact targets'
//! files in their output directories (one directory per platform when
//! there are several), registry tags that move only when
//! the whole build succeeded, and the builder named in stages.toml.

mod buildkitd_support;
mod engine_support;
mod registry_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use buildkitd_support::{Farm, build_on, remote_command};
use engine_support::{Project, Run, engine, interrupt_build, stages, unique};

/// An artifact target whose stage writes a file, a link and a directory.
fn artifacts_project(base: &str, marker: &str) -> Project {
    Project::new(&format!(
        r#"[stages.build]
from = "{base}"
steps = [{{ run = "mkdir -p /out/tree && echo {marker} > /out/tool && chmod 0750 /out/tool && echo n > /out/tree/n.txt && ln -s n.txt /out/tree/link" }}]

[artifacts.tool]
stage = "build"
path = "/out/tool"

[artifacts.tree]
stage = "build"
path = "/out/tree/"

[targets.dist]
artifacts = ["tool", "tree"]
output = "dist/"
"#
    ))
    .file("dist/kept.txt", "kept\n")
}

fn staging_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".stages-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_artifact_target_comes_back_from_a_builder_into_its_output_directory() {
    let Some(farm) = Farm::start() else { return };
    let marker = unique("remote-artifact");
    let project = artifacts_project(&farm.base, &marker);
    let run = build_on(&project, &farm.addresses(), &["dist"]).success();
    let dist = project.path().join("dist");
    let tool = dist.join("tool");
    assert_eq!(
        std::fs::read_to_string(&tool).unwrap_or_default(),
        format!("{marker}\n"),
        "{}",
        run.describe()
    );
    let mode = std::fs::metadata(&tool).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o750), "{}", run.describe());
    assert_eq!(
        std::fs::read_link(dist.join("tree/link")).ok(),
        Some("n.txt".into()),
        "{}",
        run.describe()
    );
    assert_eq!(
        std::fs::read_to_string(dist.join("tree/n.txt")).unwrap_or_default(),
        "n\n"
    );
    assert_eq!(
        std::fs::read_to_string(dist.join("kept.txt")).unwrap_or_default(),
        "kept\n",
        "files already in the output directory stay"
    );
    assert!(
        run.stderr.contains("dist             exported on tcp://"),
        "{}",
        run.describe()
    );
    assert!(
        staging_left(project.path()).is_empty(),
        "{}",
        run.describe()
    );
}

/// A copy-only artifact target `FROM scratch` (no step runs, so any
/// platform builds without emulation) for `platforms`.
fn scratch_files_project(platforms: &str, marker: &str) -> Project {
    Project::new(&format!(
        r#"[stages.build]
from = "scratch"
steps = [
  {{ copy = "hello.txt", to = "/out/hello.txt" }},
  {{ copy = "tree/", to = "/out/tree/" }},
]

[artifacts.hello]
stage = "build"
path = "/out/hello.txt"

[artifacts.tree]
stage = "build"
path = "/out/tree/"

[targets.dist]
artifacts = ["hello", "tree"]
output = "dist/"
platforms = {platforms}
"#
    ))
    .file("hello.txt", &format!("{marker}\n"))
    .file("tree/n.txt", "n\n")
    .file("dist/kept.txt", "kept\n")
    .file("dist/linux_amd64/stale.txt", "from an earlier build\n")
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                found.push(relative.display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_multi_platform_artifact_target_writes_one_directory_per_platform() {
    let Some(farm) = Farm::start() else { return };
    let marker = unique("remote-platforms");
    let project = scratch_files_project(r#"["linux/amd64", "linux/arm64"]"#, &marker);
    let run = build_on(&project, &farm.addresses(), &["dist"]).success();
    let dist = project.path().join("dist");
    assert_eq!(
        files_under(&dist),
        [
            "kept.txt",
            "linux_amd64/hello.txt",
            "linux_amd64/tree/n.txt",
            "linux_arm64/hello.txt",
            "linux_arm64/tree/n.txt",
        ],
        "each platform's directory replaces the earlier one, the rest stays:\n{}",
        run.describe()
    );
    for platform in ["linux_amd64", "linux_arm64"] {
        assert_eq!(
            std::fs::read_to_string(dist.join(platform).join("hello.txt")).unwrap_or_default(),
            format!("{marker}\n"),
            "{platform}"
        );
        assert_eq!(
            std::fs::read_to_string(dist.join(platform).join("tree/n.txt")).unwrap_or_default(),
            "n\n",
            "{platform}"
        );
    }
    assert!(
        run.stderr.contains("dist             exported on tcp://"),
        "{}",
        run.describe()
    );
    assert!(
        staging_left(project.path()).is_empty(),
        "{}",
        run.describe()
    );
}

#[test]
fn one_platform_of_an_artifact_target_is_written_directly_in_the_output_directory() {
    let Some(farm) = Farm::start() else { return };
    let marker = unique("remote-one-platform");
    let project = scratch_files_project(r#"["linux/arm64"]"#, &marker);
    let run = build_on(&project, &farm.addresses(), &["dist"]).success();
    let dist = project.path().join("dist");
    assert_eq!(
        files_under(&dist),
        [
            "hello.txt",
            "kept.txt",
            "linux_amd64/stale.txt",
            "tree/n.txt"
        ],
        "{}",
        run.describe()
    );
    assert_eq!(
        std::fs::read_to_string(dist.join("hello.txt")).unwrap_or_default(),
        format!("{marker}\n")
    );
}

#[test]
fn a_failed_build_writes_no_artifact_and_nothing_lands_outside_the_output_directory() {
    let Some(farm) = Farm::start() else { return };
    // The artifact target builds; another target of the build fails.
    let text = format!(
        r#"[stages.build]
from = "{base}"
steps = [{{ run = "mkdir -p /out && echo tool > /out/tool" }}]

[stages.broken]
from = "{base}"
steps = [{{ run = "sleep 2 && exit 4" }}]

[artifacts.tool]
stage = "build"
path = "/out/tool"

[targets.dist]
artifacts = ["tool"]
output = "dist/"

[targets.broken]
stage = "broken"
"#,
        base = farm.base
    );
    let project = Project::new(&text);
    let run = build_on(&project, &farm.addresses(), &["--all"]).exit(1);
    assert!(
        run.flat_stderr().contains("exited with code 4"),
        "{}",
        run.describe()
    );
    assert!(
        !project.path().join("dist").exists(),
        "a failed build wrote its artifacts:\n{}",
        run.describe()
    );
    // A link already in the output directory, where an artifact lands, is
    // replaced, never written through, as on the Engine.
    let outside = tempfile::tempdir().expect("temp dir");
    let linked = Project::new(&text.replace("[targets.broken]\nstage = \"broken\"\n", ""));
    std::fs::create_dir_all(linked.path().join("dist")).expect("mkdir");
    std::os::unix::fs::symlink(outside.path(), linked.path().join("dist/tool")).expect("symlink");
    let run = build_on(&linked, &farm.addresses(), &["dist"]);
    let wrote_outside = std::fs::read_dir(outside.path())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(wrote_outside, 0, "{}", run.describe());
    assert!(staging_left(linked.path()).is_empty(), "{}", run.describe());
}

/// Two pushed targets: `a` copies `marker`, `b` runs `b_step`.
fn two_pushed_targets(base: &str, tag_a: &str, tag_b: &str, marker: &str, b_step: &str) -> String {
    format!(
        r#"[stages.a]
from = "{base}"
steps = [{{ run = "echo {marker} > /which" }}]

[stages.b]
from = "{base}"
steps = [{{ run = "{b_step}" }}]

[targets.a]
stage = "a"
tags = ["{tag_a}"]

[targets.b]
stage = "b"
tags = ["{tag_b}"]
"#
    )
}

/// `name` and `tag` of `REGISTRY/NAME:TAG`.
fn name_and_tag<'a>(farm: &Farm, reference: &'a str) -> (&'a str, &'a str) {
    reference
        .strip_prefix(&format!("{}/", farm.registry.host))
        .and_then(|rest| rest.rsplit_once(':'))
        .expect("a registry tag")
}

/// The digest the summary line of `target` shows.
fn summary_digest(run: &Run, target: &str) -> Option<String> {
    run.stderr
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{target} ")) && l.contains(" pushed "))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("sha256:")))
        .map(str::to_owned)
}

#[test]
fn pushed_tags_move_only_when_every_target_succeeded() {
    engine();
    let Some(farm) = Farm::start() else { return };
    let tag_a = farm
        .registry
        .image(&format!("{}:1", unique("stages-move-a")));
    let tag_b = farm
        .registry
        .image(&format!("{}:1", unique("stages-move-b")));
    let (name_a, version_a) = name_and_tag(&farm, &tag_a);
    let (name_b, version_b) = name_and_tag(&farm, &tag_b);
    let builders = farm.addresses();

    let first = Project::new(&two_pushed_targets(
        &farm.base, &tag_a, &tag_b, "first", "true",
    ));
    let run = build_on(&first, &builders, &["--all", "--push"]).success();
    let before = farm.registry.manifest_digest(name_a, version_a);
    assert!(before.is_some(), "{}", run.describe());
    assert_eq!(before, summary_digest(&run, "a"), "{}", run.describe());

    // `a` changes and is built; `b` fails after it: no tag moves.
    let failing = Project::new(&two_pushed_targets(
        &farm.base,
        &tag_a,
        &tag_b,
        "second",
        "sleep 3 && exit 5",
    ));
    let run = build_on(&failing, &builders, &["--all", "--push"]).exit(1);
    assert!(
        run.flat_stderr().contains("exited with code 5"),
        "{}",
        run.describe()
    );
    assert_eq!(
        farm.registry.manifest_digest(name_a, version_a),
        before,
        "a failed build moved a tag:\n{}",
        run.describe()
    );

    // Both succeed: both tags name the digests the builders pushed.
    let fixed = Project::new(&two_pushed_targets(
        &farm.base, &tag_a, &tag_b, "second", "true",
    ));
    let run = build_on(&fixed, &builders, &["--all", "--push"]).success();
    let after_a = farm.registry.manifest_digest(name_a, version_a);
    assert_ne!(after_a, before, "{}", run.describe());
    assert_eq!(after_a, summary_digest(&run, "a"), "{}", run.describe());
    assert_eq!(
        farm.registry.manifest_digest(name_b, version_b),
        summary_digest(&run, "b"),
        "{}",
        run.describe()
    );
}

#[test]
fn the_builder_named_in_stages_toml_is_used_unless_the_command_line_names_one() {
    let Some(farm) = Farm::start() else { return };
    let text = format!(
        "[project]\nbuilder = \"{}\"\n\n[stages.app]\nfrom = \"{}\"\nsteps = [{{ run = \"true\" }}]\n",
        farm.daemons[0].address, farm.base
    );
    let project = Project::new(&text);
    let run = build_on(&project, &[], &[]).success();
    assert!(
        run.stderr
            .contains(&format!("on builder {} (run 1)", farm.daemons[0].address)),
        "{}",
        run.describe()
    );
    let other = farm.daemons[1].address.clone();
    let run = build_on(&project, std::slice::from_ref(&other), &[]).success();
    assert!(
        run.stderr.contains(&format!("on builder {other} (run 1)")),
        "--builder comes first:\n{}",
        run.describe()
    );
    let mut command = remote_command(&project, &[], &[]);
    command.env("BUILDKIT_HOST", &other);
    let run = Run::from(command.output().expect("run stages")).success();
    assert!(
        run.stderr.contains(&format!("on builder {other} (run 1)")),
        "BUILDKIT_HOST comes first:\n{}",
        run.describe()
    );
}

#[test]
fn a_builder_with_credentials_in_stages_toml_is_refused_on_its_span() {
    let project = Project::new(
        "[project]\nbuilder = \"tcp://me:hunter2@127.0.0.1:9\"\n\n[stages.app]\nfrom = \"busybox:stages-test\"\n",
    );
    let run = Run::from(
        stages()
            .current_dir(project.path())
            .arg("check")
            .output()
            .expect("run stages"),
    );
    assert_ne!(run.code, Some(0), "{}", run.describe());
    let text = run.flat_stderr();
    assert!(
        text.contains("`[project] builder` holds credentials"),
        "{}",
        run.describe()
    );
    assert!(run.stderr.contains("stages.toml:2:"), "{}", run.describe());
    let build = build_on(&project, &[], &[]);
    assert_ne!(build.code, Some(0), "{}", build.describe());
    assert!(
        build.flat_stderr().contains("holds credentials"),
        "{}",
        build.describe()
    );
}

/// Whether a process whose command line is exactly `command` runs.
fn process_runs(command: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-x", "-f", command])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn ctrl_c_stops_a_remote_build_cancels_its_solve_and_tags_nothing() {
    engine();
    let Some(farm) = Farm::start() else { return };
    let name = unique("stages-remote-int");
    let tag = format!("{name}:1");
    let _cleanup = Cleanup(vec![tag.clone()]);
    // A duration no other test sleeps, to find the step's process.
    let seconds = 900 + std::process::id() % 97;
    let sleeping = format!("sleep {seconds}");
    let project = Project::new(&format!(
        "[stages.app]\nfrom = \"{}\"\nsteps = [{{ run = \"echo started-{name} && {sleeping}\" }}]\n\n[targets.app]\nstage = \"app\"\ntags = [\"{tag}\"]\n",
        farm.base
    ));
    let address = farm.daemons[0].address.clone();
    let interrupted = interrupt_build(
        project.path(),
        &["--builder", &address],
        |line| line.contains(&format!("started-{name}")),
        || {
            // The step's shell starts the sleep just after the echo.
            let deadline = Instant::now() + Duration::from_secs(30);
            while !process_runs(&sleeping) {
                assert!(Instant::now() < deadline, "the step never ran `{sleeping}`");
                std::thread::sleep(Duration::from_millis(100));
            }
        },
    );
    let rest = interrupted.rest.join("\n");
    assert_eq!(interrupted.code, Some(130), "{rest}");
    assert!(rest.contains("interrupted"), "{rest}");
    // The daemon cancelled the solve: the step's process goes away (the
    // bound is generous; the test asserts the end, not how fast it came).
    let deadline = Instant::now() + Duration::from_secs(60);
    while process_runs(&sleeping) {
        assert!(
            Instant::now() < deadline,
            "the builder still runs the step after the build was interrupted:\n{}",
            farm.daemons[0].log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !engine_support::image_exists(&tag),
        "an interrupted build tagged its image"
    );
}

/// Removes the images a test put on the Engine, passed or not.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let tags: Vec<&str> = self.0.iter().map(String::as_str).collect();
        engine_support::remove_images(&tags);
    }
}
