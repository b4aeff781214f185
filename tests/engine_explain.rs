//! `stages build --explain` and `stages why` on the real Engine with the
//! native back end: after a change of one input, the step it touches says
//! why it ran, in plain progress, in JSON events and in `stages why`.
//! Each test's project has its own cache and state, removed with it.
//! FAILS when the Engine is unreachable.

mod engine_support;

use engine_support::{Project, Run, engine, stages};

fn build(project: &Project, extra: &[&str]) -> Run {
    let output = stages()
        .current_dir(project.path())
        .args(["build", "--backend", "native", "--progress", "plain"])
        .args(extra)
        .output()
        .expect("run stages");
    Run::from(output)
}

fn why(project: &Project, extra: &[&str]) -> Run {
    let output = stages()
        .current_dir(project.path())
        .arg("why")
        .args(extra)
        .output()
        .expect("run stages why");
    Run::from(output)
}

fn write(project: &Project, path: &str, contents: &str) {
    std::fs::write(project.path().join(path), contents).expect("write");
}

/// The `[stage] … re-ran: …` lines of a build.
fn explained(run: &Run) -> Vec<String> {
    run.stderr
        .lines()
        .filter(|line| line.contains(" re-ran: "))
        .map(str::to_owned)
        .collect()
}

const TWO_STAGES: &str = r#"
[stages.builder]
from = "busybox:stages-test"
workdir = "/src"
args = { VERSION = "1.0" }
steps = [
  { copy = "src/", to = "./" },
  { run = "cat *.txt > /out.txt && echo $VERSION >> /out.txt" },
]

[stages.runtime]
from = "busybox:stages-test"
steps = [{ copy = "/out.txt", from = "builder", to = "/app.txt" }]

[targets.app]
stage = "runtime"
"#;

fn two_stages() -> Project {
    Project::new(TWO_STAGES)
        .file("src/main.txt", "main\n")
        .file("src/lib.txt", "lib\n")
        .file("src/util.txt", "util\n")
}

#[test]
fn a_changed_file_is_named_and_the_stages_after_it_say_why_they_ran() {
    engine();
    let project = two_stages();
    let first = build(&project, &["--explain"]).success();
    assert!(
        explained(&first)
            .iter()
            .all(|l| l.ends_with("re-ran: first build (no record of an earlier one)")),
        "{}",
        first.describe()
    );
    let warm = build(&project, &["--explain"]).success();
    assert_eq!(
        explained(&warm),
        Vec::<String>::new(),
        "{}",
        warm.describe()
    );

    write(&project, "src/main.txt", "main, changed\n");
    let run = build(&project, &["--explain"]).success();
    let lines = explained(&run);
    assert_eq!(
        lines,
        [
            "[builder] COPY [\"src/\",\"./\"] re-ran: src/main.txt changed",
            "[builder] RUN cat *.txt > /out.txt && echo $VERSION >> /out.txt re-ran: \
             the step before (`COPY [\"src/\",\"./\"]`) re-ran",
            "[builder] image configuration re-ran: the step before \
             (`RUN cat *.txt > /out.txt && echo $VERSION >> /out.txt`) re-ran",
            "[runtime] COPY --from=builder [\"/out.txt\",\"/app.txt\"] re-ran: \
             stage builder re-ran, so this COPY --from=builder did",
            "[runtime] image configuration re-ran: the step before \
             (`COPY --from=builder [\"/out.txt\",\"/app.txt\"]`) re-ran",
        ],
        "{}",
        run.describe()
    );

    // `stages why` tells the same without building.
    let told = why(&project, &[]).success();
    assert!(
        told.stdout
            .contains("COPY [\"src/\",\"./\"] re-ran: src/main.txt changed"),
        "{}",
        told.describe()
    );
    assert!(
        told.stdout
            .contains("re-ran: stage builder re-ran, so this COPY --from=builder did"),
        "{}",
        told.describe()
    );
    let only_builder = why(&project, &["builder"]).success();
    assert!(
        !only_builder.stdout.contains("runtime"),
        "{}",
        only_builder.describe()
    );

    // Two files changed: the first is named, the others counted.
    write(&project, "src/lib.txt", "lib, changed\n");
    write(&project, "src/util.txt", "util, changed\n");
    let run = build(&project, &["--explain", "builder"]).success();
    assert!(
        explained(&run)
            .first()
            .is_some_and(|l| l.ends_with("re-ran: src/lib.txt changed (and 1 more file)")),
        "{}",
        run.describe()
    );
}

#[test]
fn an_arg_change_shows_the_old_and_new_value() {
    engine();
    let project = two_stages();
    build(&project, &["--build-arg", "VERSION=1.2", "builder"]).success();
    let run = build(
        &project,
        &["--explain", "--build-arg", "VERSION=1.3", "builder"],
    )
    .success();
    let lines = explained(&run);
    assert_eq!(
        lines.first().map(String::as_str),
        Some(
            "[builder] RUN cat *.txt > /out.txt && echo $VERSION >> /out.txt re-ran: \
             ARG VERSION 1.2 → 1.3"
        ),
        "{}",
        run.describe()
    );
    assert_eq!(lines.len(), 2, "the COPY came from the cache: {lines:?}");
    let told = why(&project, &[]).success();
    assert!(
        told.stdout.contains("re-ran: ARG VERSION 1.2 → 1.3"),
        "{}",
        told.describe()
    );
    // As JSON: a line per step, the reason with its kind, as build's events.
    let told = why(&project, &["--message-format", "json"]).success();
    let lines: Vec<serde_json::Value> = told
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines[0]["event"], "last-build", "{}", told.stdout);
    let arg = lines
        .iter()
        .find(|line| line["reason"] == "ARG VERSION 1.2 → 1.3")
        .unwrap_or_else(|| panic!("no ARG reason:\n{}", told.stdout));
    assert_eq!(arg["event"], "explained");
    assert_eq!(arg["kind"], "arg", "{}", told.stdout);
    assert!(
        lines.iter().any(|line| line["event"] == "cached"),
        "{}",
        told.stdout
    );
}

#[test]
fn added_removed_and_dockerignored_files_and_no_cache_are_told() {
    engine();
    let project = two_stages().file(".dockerignore", "src/notes.md\n");
    build(&project, &["builder"]).success();

    write(&project, "src/new.txt", "new\n");
    let run = build(&project, &["--explain", "builder"]).success();
    assert!(
        explained(&run)[0].ends_with("re-ran: src/new.txt added"),
        "{}",
        run.describe()
    );

    std::fs::remove_file(project.path().join("src/new.txt")).expect("remove");
    std::fs::remove_file(project.path().join("src/util.txt")).expect("remove");
    let run = build(&project, &["--explain", "builder"]).success();
    assert!(
        explained(&run)[0].ends_with("re-ran: src/new.txt removed (and 1 more file)"),
        "{}",
        run.describe()
    );

    write(&project, "src/notes.md", "notes\n");
    build(&project, &["builder"]).success();
    write(&project, ".dockerignore", "\n");
    let run = build(&project, &["--explain", "builder"]).success();
    assert!(
        explained(&run)[0].ends_with("re-ran: .dockerignore changed: src/notes.md is now included"),
        "{}",
        run.describe()
    );

    let run = build(&project, &["--explain", "--no-cache", "builder"]).success();
    let lines = explained(&run);
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.ends_with("re-ran: --no-cache")),
        "{}",
        run.describe()
    );
}

#[test]
fn json_events_carry_the_reasons() {
    engine();
    let project = two_stages();
    build(&project, &["builder"]).success();
    write(&project, "src/main.txt", "main, changed\n");
    let output = stages()
        .current_dir(project.path())
        .args([
            "build",
            "--backend",
            "native",
            "--progress",
            "json",
            "builder",
        ])
        .output()
        .expect("run stages");
    let run = Run::from(output).success();
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|event: &serde_json::Value| event["event"] == "explained")
        .collect();
    assert_eq!(events.len(), 3, "{}", run.describe());
    assert_eq!(events[0]["stage"], "builder");
    assert_eq!(events[0]["text"], "COPY [\"src/\",\"./\"]");
    assert_eq!(events[0]["reason"], "src/main.txt changed");
    assert_eq!(events[0]["kind"], "file-changed");
    assert_eq!(events[1]["kind"], "step-before");
    assert!(events[0]["reasons"].is_array());
}

#[test]
fn why_without_a_recorded_build_says_so() {
    engine();
    let project = two_stages();
    let run = why(&project, &[]).exit(1);
    assert!(
        run.stderr
            .contains("no build of this project is recorded yet"),
        "{}",
        run.describe()
    );
}

#[test]
fn buildkit_tells_what_its_status_stream_allows() {
    engine();
    let project = two_stages();
    let buildkit = |extra: &[&str]| {
        let output = stages()
            .current_dir(project.path())
            .args(["build", "--backend", "buildkit", "--progress", "plain"])
            .args(extra)
            .output()
            .expect("run stages");
        Run::from(output)
    };
    // A marker no other build of BuildKit's cache has seen.
    write(
        &project,
        "src/main.txt",
        &format!("{}\n", engine_support::unique("main")),
    );
    buildkit(&[]).success();
    write(
        &project,
        "src/main.txt",
        &format!("{}\n", engine_support::unique("changed")),
    );
    let run = buildkit(&["--explain"]).success();
    let lines = explained(&run);
    assert_eq!(
        lines,
        [
            "[builder] COPY src/ ./ re-ran: BuildKit does not say which input changed \
             (a file it reads, most likely; the native back end names it)",
            // BuildKit names a RUN's vertex with its args expanded.
            "[builder] RUN cat *.txt > /out.txt && echo 1.0 >> /out.txt re-ran: \
             the step before (`COPY src/ ./`) re-ran",
            "[runtime] COPY --from=builder /out.txt /app.txt re-ran: \
             stage builder re-ran, so this COPY --from=builder did",
        ],
        "{}",
        run.describe()
    );
    let told = why(&project, &[]).success();
    assert!(
        told.stdout.contains("(buildkit back end)")
            && told
                .stdout
                .contains("stage builder re-ran, so this COPY --from=builder did"),
        "{}",
        told.describe()
    );
}

#[test]
fn an_env_change_and_a_changed_step_text_are_told() {
    engine();
    let toml = |env: &str, command: &str| {
        format!(
            "[stages.app]\nfrom = \"busybox:stages-test\"\nenv = {{ MODE = \"{env}\" }}\nsteps = [{{ run = \"{command}\" }}]\n"
        )
    };
    let project = Project::new(&toml("fast", "echo $MODE > /mode"));
    build(&project, &[]).success();
    write(&project, "stages.toml", &toml("slow", "echo $MODE > /mode"));
    let run = build(&project, &["--explain"]).success();
    assert_eq!(
        explained(&run).first().map(String::as_str),
        Some("[app] RUN echo $MODE > /mode re-ran: ENV MODE fast → slow"),
        "{}",
        run.describe()
    );
    write(
        &project,
        "stages.toml",
        &toml("slow", "echo $MODE >> /mode"),
    );
    let run = build(&project, &["--explain"]).success();
    assert_eq!(
        explained(&run).first().map(String::as_str),
        Some(
            "[app] RUN echo $MODE >> /mode re-ran: step text changed (was `RUN echo $MODE > /mode`)"
        ),
        "{}",
        run.describe()
    );
}

/// A base image tag that now names another image, and a stage named by
/// `--no-cache-filter`, each give their own reason.
#[test]
fn a_moved_base_image_and_no_cache_filter_are_told() {
    engine();
    let base = format!("{}:1", engine_support::unique("stages-explain-base"));
    let docker = |args: &[&str], stdin: Option<&str>| {
        use std::io::Write;
        let mut child = std::process::Command::new("docker")
            .args(args)
            .env("DOCKER_BUILDKIT", "0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run docker");
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("write stdin");
        }
        drop(child.stdin.take());
        assert!(
            child.wait().expect("wait for docker").success(),
            "docker {args:?}"
        );
    };
    docker(&["tag", "busybox:stages-test", &base], None);
    let project = Project::new(&TWO_STAGES.replace(
        "[stages.builder]\nfrom = \"busybox:stages-test\"",
        &format!("[stages.builder]\nfrom = \"{base}\""),
    ))
    .file("src/main.txt", "main\n");
    let outcome = std::panic::catch_unwind(|| {
        build(&project, &[]).success();

        let moved = format!("FROM busybox:stages-test\nLABEL dev.stages.test.moved={base}\n");
        docker(&["build", "-q", "-t", &base, "-"], Some(&moved));
        let run = build(&project, &["--explain", "builder"]).success();
        let lines = explained(&run);
        assert!(
            lines
                .first()
                .is_some_and(|l| l.contains(&format!("re-ran: base image {base} moved to sha256:"))),
            "{}",
            run.describe()
        );

        let run = build(&project, &["--explain", "--no-cache-filter", "builder"]).success();
        let lines = explained(&run);
        assert!(
            lines.iter().any(|l| l.starts_with("[builder]")
                && l.ends_with("re-ran: --no-cache-filter names its stage")),
            "{}",
            run.describe()
        );
        assert!(
            lines.iter().any(|l| l.starts_with("[runtime]")
                && l.ends_with("re-ran: stage builder re-ran, so this COPY --from=builder did")),
            "{}",
            run.describe()
        );
    });
    // The project's cache is built on the moved image: it goes first.
    drop(project);
    let _ = std::process::Command::new("docker")
        .args(["rmi", &base])
        .output();
    let label = format!("label=dev.stages.test.moved={base}");
    let left = std::process::Command::new("docker")
        .args(["images", "-aq", "--filter", &label])
        .output()
        .expect("list images");
    for id in String::from_utf8_lossy(&left.stdout).split_whitespace() {
        let _ = std::process::Command::new("docker")
            .args(["rmi", id])
            .output();
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
