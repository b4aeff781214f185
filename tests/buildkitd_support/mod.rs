//! Real BuildKit daemons for the remote-builder tests: `buildkitd` and
//! `buildctl` built once from the vendored source (scripts/buildkitd.sh,
//! cached under target/buildkit/), a registry (`registry_support`) holding
//! the test base image, and two daemons on free loopback ports with the
//! native snapshotter, each told the registry speaks plain HTTP. Everything
//! stops when the [`Farm`] is dropped.
//!
//! Without root or a Go toolchain the daemons cannot exist: the tests say
//! so and stop early, except under CI (`CI` set), where that is a failure.

#![allow(dead_code)]

pub mod container;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::engine_support::{Project, Run, stages};
use crate::registry_support::Registry;

/// The base image the tests build on, made by scripts/base-images.sh.
pub const BASE_IMAGE: &str = "busybox:stages-test";

/// A running buildkitd.
pub struct Daemon {
    child: Child,
    /// `tcp://127.0.0.1:PORT`
    pub address: String,
    dir: tempfile::TempDir,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the daemon disappears mid-whatever, as a crashed host would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The daemon's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("buildkitd.log")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        // A daemon killed mid-step leaves that step's root file system
        // mounted under its directory; unmounted, the directory can go.
        let root = self.dir.path().to_string_lossy().into_owned();
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut ours: Vec<&str> = mounts
            .lines()
            .filter_map(|line| line.split(' ').nth(1))
            .filter(|point| point.starts_with(&root))
            .collect();
        ours.sort_by_key(|point| std::cmp::Reverse(point.len()));
        for point in ours {
            let _ = Command::new("umount").args(["-l", point]).status();
        }
    }
}

impl Daemon {
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGTERM first: buildkitd then unmounts what it mounted.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registry and two builders that know it.
pub struct Farm {
    pub daemons: Vec<Daemon>,
    pub registry: Registry,
    /// The base image as the builders pull it: `127.0.0.1:PORT/busybox:stages-test`.
    pub base: String,
}

impl Farm {
    /// Starts the farm, or returns `None` (saying why) where the daemons
    /// cannot run; under CI that is a panic instead.
    pub fn start() -> Option<Self> {
        let binaries = match binaries() {
            Ok(dir) => dir,
            Err(why) => {
                if under_ci() {
                    panic!("the remote-builder tests need real buildkitd daemons under CI: {why}");
                }
                eprintln!("skipped: no buildkitd ({why}); CI runs this test");
                return None;
            }
        };
        let registry = Registry::start();
        let base = registry.image(BASE_IMAGE);
        registry.push_only_there(BASE_IMAGE, &base);
        let daemons = (0..2)
            .map(|_| start_daemon(&binaries, &registry.host))
            .collect();
        Some(Self {
            daemons,
            registry,
            base,
        })
    }

    pub fn addresses(&self) -> Vec<String> {
        self.daemons.iter().map(|d| d.address.clone()).collect()
    }
}

/// `stages build --progress plain ARGS…` in `project`, on `builders`.
pub fn build_on(project: &Project, builders: &[String], args: &[&str]) -> Run {
    let mut command = remote_command(project, builders, args);
    Run::from(command.output().expect("run stages"))
}

/// The command of [`build_on`], to run as the test needs.
pub fn remote_command(project: &Project, builders: &[String], args: &[&str]) -> Command {
    let mut command = stages();
    command
        .current_dir(project.path())
        .env_remove("BUILDKIT_HOST")
        .env_remove("DOCKER_CONTEXT")
        .args(["build", "--progress", "plain"]);
    for builder in builders {
        command.args(["--builder", builder]);
    }
    command.args(args);
    command
}

/// Runs `stages build` on every builder of `farm`, SIGKILLs the first
/// builder two seconds after it took work (its solve under way), and
/// returns the build's stderr once it succeeded on the other.
pub fn build_losing_the_first_builder(farm: &mut Farm, project: &Project, args: &[&str]) -> String {
    let victim = farm.daemons[0].address.clone();
    let mut child = remote_command(project, &farm.addresses(), args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run stages");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    assert!(
        wait_for_line(&mut stderr, &format!("on builder {victim}"), &mut seen),
        "the victim never started:\n{seen}"
    );
    std::thread::sleep(Duration::from_secs(2));
    farm.daemons[0].kill();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("read stderr");
    seen.push_str(&rest);
    let status = child.wait().expect("wait for stages");
    assert!(status.success(), "the build failed:\n{seen}");
    seen
}

/// `CI` set to anything but empty, `0` or `false`.
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The directory holding buildkitd and buildctl, building them the first
/// time (minutes); `Err` says why there are none.
pub fn binaries() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Mutex<Option<Result<PathBuf, String>>>> = OnceLock::new();
    let lock = BUILT.get_or_init(|| Mutex::new(None));
    let mut built = lock.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(result) = built.as_ref() {
        return result.clone();
    }
    let result = build_binaries();
    *built = Some(result.clone());
    result
}

fn build_binaries() -> Result<PathBuf, String> {
    // SAFETY-free check: `id -u` says whether the daemons can run.
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("buildkitd with the native snapshotter needs root".to_owned());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/buildkitd.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("build")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} build failed", script.display()));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !dir.join("buildkitd").is_file() {
        return Err(format!("no buildkitd in {}", dir.display()));
    }
    Ok(dir)
}

fn start_daemon(binaries: &Path, registry_host: &str) -> Daemon {
    let dir = tempfile::Builder::new()
        .prefix("stages-buildkitd-")
        .tempdir()
        .expect("temp dir");
    let config = dir.path().join("buildkitd.toml");
    std::fs::write(
        &config,
        format!("[registry.\"{registry_host}\"]\n  http = true\n  insecure = true\n"),
    )
    .expect("write buildkitd.toml");
    let port = free_port();
    let address = format!("tcp://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("buildkitd.log")).expect("log file");
    let child = Command::new(binaries.join("buildkitd"))
        .arg("--addr")
        .arg(&address)
        .arg("--root")
        .arg(dir.path().join("root"))
        .args([
            "--oci-worker=true",
            "--oci-worker-snapshotter=native",
            "--containerd-worker=false",
        ])
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start buildkitd");
    let daemon = Daemon {
        child,
        address,
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "buildkitd did not listen within 30 s:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    daemon
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Reads a child's stderr line by line until `wanted` appears (returning
/// the lines so far), or the stream ends.
pub fn wait_for_line(
    reader: &mut BufReader<std::process::ChildStderr>,
    wanted: &str,
    seen: &mut String,
) -> bool {
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {
                seen.push_str(&line);
                if line.contains(wanted) {
                    return true;
                }
            }
        }
    }
}
