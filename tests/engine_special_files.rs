//! Special files in the build context and Ctrl-C while the context is
//! read, on both back ends, against the real Engine. A named pipe is never
//! opened: named by a copy it is an error (native) or absent from the
//! context sent (dockerfile); inside a copied directory it is left out.
//! Every build here runs under a time bound, so a hang fails the test.
//! FAILS when the Engine is unreachable.

#![cfg(unix)]

mod engine_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine_support::{Project, engine, files, remove_images, stages, unique};

/// Far more than any of these builds needs; reached only by a hang.
const HANG: Duration = Duration::from_secs(120);

struct Ended {
    code: Option<i32>,
    stderr: String,
}

/// Waits for `child` at most `limit`; a child still running is killed and
/// the test fails.
fn wait_bounded(mut child: Child, limit: Duration, what: &str) -> Ended {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            return Ended {
                code: status.code(),
                stderr,
            };
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn build(dir: &Path, backend: &str) -> Ended {
    let child = stages()
        .current_dir(dir)
        .args(["build", "--backend", backend, "--progress", "plain"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stages");
    wait_bounded(child, HANG, &format!("a {backend} build"))
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(made.success());
}

fn project(steps: &str, tag: &str) -> Project {
    let project = Project::new(&format!(
        r#"
[stages.app]
from = "busybox:stages-test"
steps = [{steps}]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    ))
    .file("dir/a.txt", "a");
    mkfifo(&project.path().join("dir/pipe"));
    project
}

#[test]
fn a_named_pipe_named_by_a_copy_is_an_error_not_a_hang() {
    engine();
    for step in [
        r#"{ copy = "dir/pipe", to = "/p" }"#,
        r#"{ add = "dir/pipe", to = "/p" }"#,
    ] {
        let tag = format!("{}:v1", unique("stages-special"));
        let project = project(step, &tag);
        let ended = build(project.path(), "native");
        assert_eq!(ended.code, Some(1), "{}", ended.stderr);
        assert!(
            ended.stderr.contains("\"dir/pipe\" is a named pipe"),
            "{}",
            ended.stderr
        );
        // The dockerfile back end leaves the pipe out of the context it
        // sends, so the Engine's builder does not find it.
        let ended = build(project.path(), "dockerfile");
        assert_eq!(ended.code, Some(1), "{}", ended.stderr);
        assert!(ended.stderr.contains("dir/pipe"), "{}", ended.stderr);
        remove_images(&[&tag]);
    }
}

#[test]
fn a_pipe_inside_a_copied_directory_is_left_out_on_both_back_ends() {
    engine();
    for backend in ["native", "dockerfile"] {
        let tag = format!("{}:v1", unique("stages-special"));
        let project = project(r#"{ copy = ".", to = "/all/" }"#, &tag);
        let ended = build(project.path(), backend);
        assert_eq!(ended.code, Some(0), "{backend}: {}", ended.stderr);
        let tree = files(&tag, "/all");
        let names: Vec<&String> = tree.keys().collect();
        assert!(names.iter().any(|n| n.ends_with("dir/a.txt")), "{names:?}");
        assert!(!names.iter().any(|n| n.ends_with("pipe")), "{names:?}");
        remove_images(&[&tag]);
    }
}

/// A sparse file far larger than the build could read in the time bound:
/// Ctrl-C while the native back end digests it must stop the build.
#[test]
fn ctrl_c_while_the_context_is_read_stops_the_build() {
    use std::io::{BufRead, BufReader};
    engine();
    let tag = format!("{}:v1", unique("stages-special"));
    let project = Project::new(&format!(
        r#"
[stages.app]
from = "busybox:stages-test"
steps = [{{ copy = "huge.bin", to = "/huge.bin" }}]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    ));
    std::fs::File::create(project.path().join("huge.bin"))
        .expect("create")
        .set_len(1 << 40)
        .expect("a sparse file");
    let mut child = stages()
        .current_dir(project.path())
        .args(["build", "--backend", "native", "--progress", "plain"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stages");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().expect("a progress line").expect("read");
    assert!(first.contains("building"), "{first}");
    // Let the reading of the file begin.
    std::thread::sleep(Duration::from_secs(2));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let ended = wait_bounded(child, Duration::from_secs(60), "an interrupted build");
    let rest = rest.join().expect("stderr");
    assert_eq!(ended.code, Some(130), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    remove_images(&[&tag]);
}
