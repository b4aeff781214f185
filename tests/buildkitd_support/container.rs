//! A buildkitd inside a container, as buildx's container driver runs one,
//! for the `docker-container://NAME` tests. Its image is made here, with
//! no registry pull: `docker import` of a tar holding the locally built
//! buildkitd and buildctl (static) and the host's runc with the libraries
//! it links (the OCI worker wants it). The container runs on the host's
//! network (it reaches the test registry on loopback), labelled, and is
//! removed with its image when dropped. It is not privileged (an Engine
//! may refuse that; this one does): CAP_SYS_ADMIN without seccomp or
//! AppArmor confinement lets buildkitd mount its snapshots, which copies
//! need; a RUN step's nested container may still be refused, so the tests
//! build copies.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::binaries;

/// The label every container and image of these tests carries.
pub const LABEL: &str = "stages-test-container-builder";

/// A running buildkitd container.
pub struct ContainerBuilder {
    pub name: String,
    image: String,
}

impl Drop for ContainerBuilder {
    fn drop(&mut self) {
        let _ = docker_status(&["rm", "-f", "-v", &self.name]);
        let _ = docker_status(&["rmi", &self.image]);
    }
}

impl ContainerBuilder {
    /// Starts one that treats `registry_host` as plain HTTP; `None` (with
    /// the reason printed) where it cannot run here.
    pub fn start(name: &str, registry_host: &str) -> Option<Self> {
        let bin = match binaries() {
            Ok(bin) => bin,
            Err(why) => {
                eprintln!("skipped: no buildkitd ({why})");
                return None;
            }
        };
        let Some(runc) = which("runc") else {
            eprintln!("skipped: no runc on this machine to put in the builder's image");
            return None;
        };
        let root = tempfile::tempdir().expect("temp dir");
        fill_root(root.path(), &bin, &runc, registry_host);
        let image = format!("stages-test-container-builder:{name}");
        import(root.path(), &image);
        let mut builder = Self {
            name: name.to_owned(),
            image,
        };
        let started = docker_status(&[
            "run",
            "-d",
            "--cap-add",
            "SYS_ADMIN",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "apparmor=unconfined",
            "--network",
            "host",
            "--label",
            LABEL,
            "--name",
            name,
            &builder.image,
            "/usr/bin/buildkitd",
            "--oci-worker=true",
            "--oci-worker-snapshotter=native",
            "--containerd-worker=false",
            "--config",
            "/etc/buildkit/buildkitd.toml",
        ]);
        assert!(started, "cannot start the builder container {name}");
        builder.wait_ready();
        Some(builder)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !docker_status(&["exec", &self.name, "buildctl", "debug", "workers"]) {
            if Instant::now() > deadline {
                let logs = Command::new("docker")
                    .args(["logs", &self.name])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                    .unwrap_or_default();
                panic!(
                    "buildkitd in {} did not answer within 60 s:\n{logs}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn docker_status(args: &[&str]) -> bool {
    Command::new("docker")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn which(program: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// The image's file system: binaries, runc's libraries, the config.
fn fill_root(root: &Path, bin: &Path, runc: &Path, registry_host: &str) {
    for dir in ["usr/bin", "etc/buildkit", "tmp", "run", "var/lib/buildkit"] {
        std::fs::create_dir_all(root.join(dir)).expect("mkdir");
    }
    for (from, to) in [
        (bin.join("buildkitd"), "usr/bin/buildkitd"),
        (bin.join("buildctl"), "usr/bin/buildctl"),
        (runc.to_owned(), "usr/bin/runc"),
    ] {
        std::fs::copy(&from, root.join(to)).expect("copy a binary");
    }
    for library in linked_libraries(runc) {
        let inside = root.join(library.strip_prefix("/").expect("absolute"));
        std::fs::create_dir_all(inside.parent().expect("parent")).expect("mkdir");
        // Copied through its links: the image holds the file itself.
        std::fs::copy(&library, &inside).expect("copy a library");
    }
    std::fs::write(
        root.join("etc/buildkit/buildkitd.toml"),
        format!("[registry.\"{registry_host}\"]\n  http = true\n  insecure = true\n"),
    )
    .expect("write buildkitd.toml");
}

/// The absolute paths `ldd` names for `program`.
fn linked_libraries(program: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(program).output().expect("run ldd");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

fn import(root: &Path, image: &str) {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(root)
        .args(["-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run tar");
    let status = Command::new("docker")
        .args([
            "import",
            "--change",
            &format!("LABEL {LABEL}=1"),
            "-",
            image,
        ])
        .stdin(tar.stdout.take().expect("tar output"))
        .stdout(Stdio::null())
        .status()
        .expect("run docker import");
    let tarred = tar.wait().expect("wait for tar");
    assert!(
        tarred.success() && status.success(),
        "docker import of {image} failed"
    );
}
