//! Shared by the `engine_*` tests, which run against the real Docker Engine.
//! They FAIL, never skip, when the Engine is unreachable.

#![allow(dead_code)]

pub mod forgiven;
pub mod image_views;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, ImageInspect};
use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;

pub const BASE_IMAGE: &str = "busybox:stages-test";

static BASE_IMAGES: Once = Once::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Checks the Engine answers and makes the base images, once per test binary
/// (and under a lock file across binaries).
pub fn engine() {
    BASE_IMAGES.call_once(|| {
        let version = Command::new("docker")
            .args(["version", "--format", "{{.Server.APIVersion}}"])
            .output();
        match version {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "the Docker Engine is unreachable; engine tests need it:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => panic!("cannot run the docker CLI: {e}"),
        }
        let root = env!("CARGO_MANIFEST_DIR");
        let status = Command::new("flock")
            .arg(std::env::temp_dir().join("stages-base-images.lock"))
            .arg(format!("{root}/scripts/base-images.sh"))
            .status()
            .expect("run scripts/base-images.sh");
        assert!(status.success(), "scripts/base-images.sh failed");
    });
}

/// A name no other test (or test run) uses.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// A project in a temporary directory.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(stages_toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("stages.toml"), stages_toml).expect("write stages.toml");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(self, path: &str, contents: &str) -> Self {
        let full = self.dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(full, contents).expect("write file");
        self
    }

    /// Runs `stages build --backend dockerfile ARGS…` here, with plain
    /// progress unless ARGS choose another.
    pub fn build(&self, args: &[&str]) -> Run {
        self.build_on("dockerfile", args)
    }

    /// Runs `stages build --backend BACKEND ARGS…` here, with plain
    /// progress unless ARGS choose another.
    pub fn build_on(&self, backend: &str, args: &[&str]) -> Run {
        let mut command = stages();
        command
            .current_dir(self.path())
            .args(["build", "--backend", backend]);
        if !args.contains(&"--progress") {
            command.args(["--progress", "plain"]);
        }
        command.args(args);
        Run::from(command.output().expect("run stages"))
    }
}

/// A project that ran a native build leaves entries in its own cache:
/// they are the test's, and go with the project (no other project's image
/// is touched).
impl Drop for Project {
    fn drop(&mut self) {
        if self.dir.path().join("stages.toml").is_file() {
            let _ = stages()
                .current_dir(self.path())
                .args(["cache", "prune"])
                .output();
        }
    }
}

impl Project {
    /// The project's id, as `stages cache ls` reports it.
    pub fn id(&self) -> String {
        let out = stages()
            .current_dir(self.path())
            .args(["cache", "ls"])
            .output()
            .expect("cache ls");
        let stderr = String::from_utf8_lossy(&out.stderr);
        stderr
            .lines()
            .find_map(|line| line.strip_prefix("project ")?.split(':').next())
            .unwrap_or_else(|| panic!("no project id in: {stderr}"))
            .to_owned()
    }
}

/// The `stages` binary, with its state (build locks, cache use) under the
/// test target directory rather than the user's. Builds that name no back
/// end use the native one, which these tests were written for (`auto` is
/// tested on its own).
pub fn stages() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stages"));
    command
        .env_remove("DOCKER_HOST")
        .env("NO_COLOR", "1")
        .env("STAGES_BACKEND", "native")
        .env(
            "STAGES_STATE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("stages-state"),
        );
    command
}

/// What a run printed, and how it ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.describe());
        self
    }

    #[track_caller]
    pub fn exit(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}:\n{}",
            self.describe()
        );
        self
    }

    /// Standard error with line wrapping and box drawing undone, so a
    /// message can be matched whatever the terminal width.
    pub fn flat_stderr(&self) -> String {
        self.stderr
            .split_whitespace()
            .filter(|word| *word != "│")
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn describe(&self) -> String {
        format!("--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// A one-shot runtime for the bollard checks.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

async fn docker() -> Docker {
    Docker::connect_with_local_defaults()
        .expect("connect")
        .negotiate_version()
        .await
        .expect("negotiate")
}

pub fn inspect(image: &str) -> ImageInspect {
    block_on(async {
        docker()
            .await
            .inspect_image(image)
            .await
            .expect("inspect image")
    })
}

/// The configuration fields the comparisons hold equal
/// (`forgiven::COMPARED_CONFIG`), as the Engine reports them: a field it
/// leaves out is `null`, and nothing else is normalised (`[]` stays `[]`).
pub fn compared_config(image: &str) -> serde_json::Value {
    let inspected = inspect(image);
    let author = inspected.author.clone();
    let config = inspected.config.unwrap_or_default();
    let full = serde_json::to_value(&config).expect("config as JSON");
    let fields = forgiven::COMPARED_CONFIG
        .iter()
        .map(|field| {
            let mut value = full.get(*field).cloned().unwrap_or(serde_json::Value::Null);
            // Sets: the Engine hands them out in no particular order.
            if let serde_json::Value::Array(items) = &mut value
                && matches!(*field, "ExposedPorts" | "Volumes")
            {
                items.sort_by_key(ToString::to_string);
            }
            ((*field).to_owned(), value)
        })
        // The image's author (MAINTAINER) sits beside its configuration.
        .chain([("Author".to_owned(), serde_json::json!(author))])
        .collect();
    serde_json::Value::Object(fields)
}

pub fn image_exists(image: &str) -> bool {
    block_on(async { docker().await.inspect_image(image).await.is_ok() })
}

/// One file of an image, as a tar entry read through a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub kind: tar::EntryType,
    pub link: Option<String>,
    pub contents: Vec<u8>,
}

impl FileEntry {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.contents).into_owned()
    }
}

/// Every entry under `path` in `image` (paths as the archive names them).
pub fn files(image: &str, path: &str) -> BTreeMap<String, FileEntry> {
    block_on(async {
        let docker = docker().await;
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            cmd: Some(vec!["never-started".to_owned()]),
            ..Default::default()
        };
        let id = docker
            .create_container(None, body)
            .await
            .expect("create container")
            .id;
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let mut stream = docker.download_from_container(&id, Some(options));
        let mut bytes = Vec::new();
        let mut failure = None;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let remove = RemoveContainerOptionsBuilder::new()
            .force(true)
            // An image that declares a VOLUME gives the container an
            // anonymous volume, which is the test's too.
            .v(true)
            .build();
        let _ = docker.remove_container(&id, Some(remove)).await;
        if let Some(e) = failure {
            panic!("download {path} from {image}: {e}");
        }
        read_tar(&bytes)
    })
}

pub fn read_tar(bytes: &[u8]) -> BTreeMap<String, FileEntry> {
    let mut archive = tar::Archive::new(bytes);
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let header = entry.header().clone();
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let link = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| l.to_string_lossy().into_owned());
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).expect("read");
        out.insert(
            path.trim_end_matches('/').to_owned(),
            FileEntry {
                path,
                mode: header.mode().expect("mode") & 0o7777,
                uid: header.uid().expect("uid"),
                gid: header.gid().expect("gid"),
                kind: header.entry_type(),
                link,
                contents,
            },
        );
    }
    out
}

/// Ids of all containers carrying `label=value`.
pub fn containers_labelled(label: &str, value: &str) -> Vec<String> {
    block_on(async {
        let mut filters = std::collections::HashMap::new();
        filters.insert("label", vec![format!("{label}={value}")]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        docker()
            .await
            .list_containers(Some(options))
            .await
            .expect("list containers")
            .into_iter()
            .filter_map(|c| c.id)
            .collect()
    })
}

/// Removes images by tag; missing ones are fine.
pub fn remove_images(tags: &[&str]) {
    block_on(async {
        let docker = docker().await;
        for tag in tags {
            let options = RemoveImageOptionsBuilder::new().force(true).build();
            let _ = docker.remove_image(tag, Some(options), None).await;
        }
    });
}

/// Removes the volumes of the cache mount `id` (labelled with it): the
/// test made them.
pub fn remove_cache_volumes(id: &str) {
    let listed = Command::new("docker")
        .args(["volume", "ls", "-q", "--filter"])
        .arg(format!("label=dev.stages.cache-mount={id}"))
        .output()
        .expect("docker volume ls");
    for volume in String::from_utf8_lossy(&listed.stdout).lines() {
        let _ = Command::new("docker")
            .args(["volume", "rm", volume])
            .output();
    }
}

/// The native back end's cache-mount volumes (every id).
fn cache_mount_volumes() -> Vec<String> {
    let listed = Command::new("docker")
        .args([
            "volume",
            "ls",
            "-q",
            "--filter",
            "label=dev.stages.cache-mount",
        ])
        .output()
        .expect("docker volume ls");
    String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Removes, when dropped, the cache-mount volumes that appeared while it
/// lived: a test building a project whose cache ids are shared by design
/// (the target path, such as `/root/.cache/go-build`) takes away what it
/// made and leaves the volumes that were there before.
pub struct NewCacheVolumes(Vec<String>);

impl NewCacheVolumes {
    pub fn watch() -> Self {
        Self(cache_mount_volumes())
    }
}

impl Drop for NewCacheVolumes {
    fn drop(&mut self) {
        for volume in cache_mount_volumes() {
            if !self.0.contains(&volume) {
                let _ = Command::new("docker")
                    .args(["volume", "rm", &volume])
                    .output();
            }
        }
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The label value of an image, if set.
pub fn label(inspect: &ImageInspect, key: &str) -> Option<String> {
    inspect.config.as_ref()?.labels.as_ref()?.get(key).cloned()
}

/// How an interrupted build ended: its exit code and its progress lines
/// before and after the interrupt.
pub struct Interrupted {
    pub code: Option<i32>,
    pub seen: Vec<String>,
    pub rest: Vec<String>,
}

/// Runs `stages build ARGS --progress plain` in `dir` and sends it SIGINT,
/// as Ctrl-C does, once a progress line satisfies `ready` (after calling
/// `before`, which sees the build still running).
#[cfg(unix)]
pub fn interrupt_build(
    dir: &Path,
    args: &[&str],
    ready: impl Fn(&str) -> bool,
    before: impl FnOnce(),
) -> Interrupted {
    let mut running = start_build(dir, args, ready);
    let seen = std::mem::take(&mut running.seen);
    before();
    let (code, rest) = running.signal("INT");
    Interrupted { code, seen, rest }
}

/// A build running in the background, after a progress line satisfied
/// `ready`; the rest of its progress is read on a thread.
#[cfg(unix)]
pub struct RunningBuild {
    pub child: std::process::Child,
    pub seen: Vec<String>,
    rest: Option<std::thread::JoinHandle<Vec<String>>>,
}

/// Starts `stages build ARGS --progress plain` in `dir` and waits for a
/// progress line satisfying `ready`.
#[cfg(unix)]
pub fn start_build(dir: &Path, args: &[&str], ready: impl Fn(&str) -> bool) -> RunningBuild {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let mut child = stages()
        .current_dir(dir)
        .arg("build")
        .args(args)
        .args(["--progress", "plain"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn stages");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let started = Instant::now();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("the build ended early").expect("read");
        seen.push(line.clone());
        if ready(&line) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{seen:?}");
    }
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    RunningBuild {
        child,
        seen,
        rest: Some(rest),
    }
}

#[cfg(unix)]
impl RunningBuild {
    /// Sends `signal` (`KILL`, `INT`) and waits for the process; returns its
    /// exit code and the progress lines read after `ready`.
    pub fn signal(mut self, signal: &str) -> (Option<i32>, Vec<String>) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let code = self.child.wait().expect("wait").code();
        let rest = self
            .rest
            .take()
            .map(|thread| thread.join().unwrap_or_default())
            .unwrap_or_default();
        (code, rest)
    }
}

/// A build left running by a failed test is stopped.
#[cfg(unix)]
impl Drop for RunningBuild {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}
