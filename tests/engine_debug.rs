//! `stages build --debug` against the real Engine: a shell in the state
//! of the RUN that failed, typed into through a tmux pseudo-terminal, and
//! without a terminal the kept snapshot with its `docker run` command.
//! Either way the build fails, leaves no debug container and moves no tag.

mod engine_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine_support::{
    Project, containers_labelled, engine, image_exists, remove_cache_volumes, stages, unique,
};

const DEBUG_LABEL: &str = "dev.stages.debug";

/// A project whose `app` target builds once `FAIL` is 0 and fails in its
/// last RUN (after writing a file) when it is 7; the steps before set an
/// env, a workdir, a file, a user and a build arg, and the RUN has a cache
/// mount and a bind mount of another stage.
fn project(tag: &str, cache_id: &str) -> Project {
    Project::new(&format!(
        r#"[args]
FAIL = "7"

[stages.tools]
from = "busybox:stages-test"
steps = [{{ run = "mkdir /tools && echo tool-from-stage > /tools/t" }}]

[stages.app]
from = "busybox:stages-test"
env = {{ GREETING = "hello-debug" }}
workdir = "/work"
args = {{ FAIL = {{}} }}
steps = [
  {{ run = "echo written-before > /work/before.txt && chmod 0777 /work && mkdir /cache && chown 1234 /cache" }},
  {{ user = "1234" }},
  {{ run = "echo partial > /work/partial.txt; echo cached > /cache/seen; echo \"failing with $FAIL\"; exit $FAIL", mounts = [{{ type = "cache", id = "{cache_id}", target = "/cache" }}, {{ type = "bind", from = "tools", source = "/tools", target = "/t" }}] }},
]

[targets.app]
stage = "app"
tags = ["{tag}"]
"#
    ))
}

fn image_id(reference: &str) -> String {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", reference])
        .output()
        .expect("docker image inspect");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn debug_images(project_id: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "images",
            "-q",
            "--filter",
            &format!("label={DEBUG_LABEL}={project_id}"),
        ])
        .output()
        .expect("docker images");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A tmux server of the test's own, running one command in a pane.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(dir: &Path, command: &str) -> Self {
        let tmux = Self {
            socket: unique("stages-debug-tmux"),
        };
        let status = Command::new("tmux")
            .args(["-L", &tmux.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "160", "-y", "50", "-s", "debug", "-c"])
            .arg(dir)
            .arg(command)
            .status()
            .expect("run tmux (apt-get install tmux)");
        assert!(status.success(), "tmux did not start");
        tmux
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-J", "-S", "-200"])
            .args(["-t", "debug"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "debug"])
            .args(keys)
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Waits until the screen shows `text`; fails (never hangs) otherwise.
    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let socket = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "#{socket_path}",
            ])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default();
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
        if !socket.is_empty() {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// The `stages` command line for a shell, with the test environment.
fn stages_command_line(args: &str) -> String {
    let probe = stages();
    let mut line = String::from("env -u DOCKER_HOST");
    for (key, value) in probe.get_envs() {
        if let Some(value) = value {
            line.push_str(&format!(
                " {}='{}'",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    line.push(' ');
    line.push_str(env!("CARGO_BIN_EXE_stages"));
    line.push(' ');
    line.push_str(args);
    line
}

#[test]
fn a_shell_in_the_failed_step_sees_its_state_and_leaves_nothing_behind() {
    engine();
    let tag = format!("{}:latest", unique("stages-test-debug"));
    let cache_id = unique("debug-cache");
    let project = project(&tag, &cache_id);
    stages()
        .current_dir(project.path())
        .args(["build", "--progress", "plain", "--build-arg", "FAIL=0"])
        .output()
        .map(|out| {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .expect("run stages");
    let built = image_id(&tag);
    assert!(!built.is_empty());
    let project_id = project.id();
    let exit_file = project.path().join("exit-code");
    let command = format!(
        "{}; echo $? > {}; sleep 600",
        stages_command_line("build --debug --progress plain"),
        exit_file.display()
    );
    let tmux = Tmux::start(project.path(), &command);
    tmux.wait_for("`exit` leaves");
    tmux.keys(&[
        "cat /work/before.txt /t/t; echo \"G=$GREETING pwd=$(pwd) uid=$(id -u) files=$(ls /work | tr '\\n' ,)\"",
        "Enter",
    ]);
    let screen = tmux.wait_for("G=hello-debug pwd=");
    assert!(screen.contains("\nwritten-before"), "{screen}");
    assert!(screen.contains("\ntool-from-stage"), "{screen}");
    // The state is the one before the failed command: its file is not there yet.
    assert!(
        screen.contains("G=hello-debug pwd=/work uid=1234 files=before.txt,\n"),
        "{screen}"
    );
    // Ctrl-C goes to the shell (stopping what it runs), not to stages.
    tmux.keys(&["sleep 600", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    tmux.keys(&["C-c"]);
    tmux.keys(&["echo alive-after-ctrl-c", "Enter"]);
    tmux.wait_for("\nalive-after-ctrl-c");
    tmux.keys(&[
        "cat /.stages-debug/failed.sh; /.stages-debug/failed.sh; echo \"rerun=$?\"; cat /work/partial.txt /cache/seen",
        "Enter",
    ]);
    let screen = tmux.wait_for("\npartial\ncached");
    assert!(screen.contains("\nfailing with 7\nrerun=7\n"), "{screen}");
    assert!(screen.contains("export FAIL="), "{screen}");
    tmux.keys(&["exit", "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !exit_file.is_file() {
        assert!(
            Instant::now() < deadline,
            "stages did not exit:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let code = std::fs::read_to_string(&exit_file).expect("read the exit code");
    assert_eq!(code.trim(), "1", "{}", tmux.screen());
    assert!(containers_labelled(DEBUG_LABEL, &project_id).is_empty());
    assert!(debug_images(&project_id).is_empty());
    assert_eq!(image_id(&tag), built, "the target's tag moved");
    let _ = Command::new("docker").args(["rmi", &tag]).output();
    remove_cache_volumes(&cache_id);
}

#[test]
fn without_a_terminal_the_state_is_kept_as_an_image_the_printed_command_opens() {
    engine();
    let tag = format!("{}:latest", unique("stages-test-debug"));
    let cache_id = unique("debug-cache");
    let project = project(&tag, &cache_id);
    let out = stages()
        .current_dir(project.path())
        .args(["debug", "--progress", "plain"])
        .stdin(Stdio::null())
        .output()
        .expect("run stages");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!image_exists(&tag), "a failed build tagged {tag}");
    let project_id = project.id();
    assert!(containers_labelled(DEBUG_LABEL, &project_id).is_empty());
    assert_eq!(debug_images(&project_id).len(), 1, "{stderr}");
    let command = stderr
        .lines()
        .find_map(|line| line.strip_prefix("  docker run "))
        .unwrap_or_else(|| panic!("no docker run command:\n{stderr}"));
    let command = format!("docker run {}", command.replace(" -it ", " "));
    let script = "cat /work/before.txt /t/t; echo \"G=$GREETING\"; pwd; id -u; \
                  test -e /work/partial.txt || echo no-partial-yet; \
                  /.stages-debug/failed.sh; echo \"rerun=$?\"; cat /cache/seen";
    let run = Command::new("sh")
        .arg("-c")
        .arg(format!("{command} sh -c '{script}'"))
        .output()
        .expect("run the printed command");
    let shown = String::from_utf8_lossy(&run.stdout);
    let expected = "written-before\ntool-from-stage\nG=hello-debug\n/work\n1234\nno-partial-yet\n\
                    failing with 7\nrerun=7\ncached\n";
    assert_eq!(
        shown,
        expected,
        "{command}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let pruned = stages()
        .current_dir(project.path())
        .args(["cache", "prune"])
        .output()
        .expect("stages cache prune");
    let said = String::from_utf8_lossy(&pruned.stdout);
    assert!(said.contains("removed 1 debug snapshot images"), "{said}");
    assert!(debug_images(&project_id).is_empty());
    remove_cache_volumes(&cache_id);
}

#[test]
fn stopping_stages_in_the_shell_removes_the_container() {
    engine();
    let tag = format!("{}:latest", unique("stages-test-debug"));
    let cache_id = unique("debug-cache");
    let project = project(&tag, &cache_id);
    let project_id = project.id();
    let exit_file = project.path().join("exit-code");
    let command = format!(
        "{}; echo $? > {}; sleep 600",
        stages_command_line("debug --progress plain"),
        exit_file.display()
    );
    let tmux = Tmux::start(project.path(), &command);
    tmux.wait_for("`exit` leaves");
    assert_eq!(containers_labelled(DEBUG_LABEL, &project_id).len(), 1);
    // The pane runs `sh -c "env … stages …"`; `env` became stages.
    let pane = Command::new("tmux")
        .args(["-L", &tmux.socket, "list-panes", "-t", "debug"])
        .args(["-F", "#{pane_pid}"])
        .output()
        .expect("tmux list-panes");
    let pane = String::from_utf8_lossy(&pane.stdout).trim().to_owned();
    let children = Command::new("pgrep")
        .args(["-P", &pane])
        .output()
        .expect("pgrep");
    let stages_pid = String::from_utf8_lossy(&children.stdout)
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no stages under the pane {pane}"))
        .to_owned();
    let status = Command::new("kill")
        .args(["-TERM", &stages_pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !exit_file.is_file() {
        assert!(
            Instant::now() < deadline,
            "stages did not stop:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let code = std::fs::read_to_string(&exit_file).expect("read the exit code");
    assert_eq!(code.trim(), "130", "{}", tmux.screen());
    assert!(tmux.screen().contains("removing the debug container"));
    assert!(containers_labelled(DEBUG_LABEL, &project_id).is_empty());
    remove_cache_volumes(&cache_id);
}
