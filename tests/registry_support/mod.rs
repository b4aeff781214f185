//! A real registry server for the registry tests: Debian's `docker-registry`
//! (the CNCF distribution registry) on 127.0.0.1 with a free port and a
//! temporary storage directory, with or without htpasswd auth (bcrypt, from
//! `htpasswd` of apache2-utils). It is stopped when dropped. The Engine
//! allows loopback registries without TLS.
//!
//! Also a tiny HTTP/1.1 client over `TcpStream` for the registry's API
//! (`/v2/<name>/tags/list`, manifest digests), so the tests check what the
//! registry holds, not what stages says it pushed.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`
    pub host: String,
    dir: tempfile::TempDir,
    auth: Option<(String, String)>,
}

impl Registry {
    /// A registry anyone may pull from and push to.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// A registry that wants `user` and `password` for everything.
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::launch(Some((user.to_owned(), password.to_owned())))
    }

    fn launch(auth: Option<(String, String)>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = &auth {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("run htpasswd (apt-get install apache2-utils)");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, &out.stdout).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: stages-test\n    path: {}\n",
                file.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config.yml");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run docker-registry (apt-get install docker-registry)");
        let registry = Self {
            child,
            host,
            dir,
            auth,
        };
        registry.wait_until_up();
        registry
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(response) = self.request("GET", "/v2/", &[])
                && (response.status == 200 || response.status == 401)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the registry at {} did not answer within 30 s", self.host);
    }

    /// `127.0.0.1:PORT/path`
    pub fn image(&self, path: &str) -> String {
        format!("{}/{path}", self.host)
    }

    /// A Docker client configuration directory whose `auths` log in here.
    pub fn docker_config(&self, user: &str, password: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, self.host),
        )
        .expect("write config.json");
        dir
    }

    /// Tags the local `image` as `reference`, pushes it with the docker CLI
    /// and removes the local tag again, so that only the registry has it.
    /// Returns the pushed digest.
    pub fn push_only_there(&self, image: &str, reference: &str) -> String {
        let config = match &self.auth {
            Some((user, password)) => self.docker_config(user, password),
            None => tempfile::tempdir().expect("temp dir"),
        };
        docker(&["tag", image, reference], None);
        let out = docker(&["push", reference], Some(config.path()));
        docker(&["rmi", reference], None);
        let text = String::from_utf8_lossy(&out);
        text.split_whitespace()
            .find(|w| w.starts_with("sha256:"))
            .unwrap_or_else(|| panic!("no digest in docker push output:\n{text}"))
            .to_owned()
    }

    /// The tags the registry lists for `name` (none when it has no such repository).
    pub fn tags(&self, name: &str) -> Vec<String> {
        let response = self
            .request("GET", &format!("/v2/{name}/tags/list"), &[])
            .expect("ask the registry for tags");
        if response.status == 404 {
            return Vec::new();
        }
        assert_eq!(response.status, 200, "tags/list: {}", response.body);
        let value: serde_json::Value =
            serde_json::from_str(&response.body).expect("tags/list is JSON");
        value["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The digest the registry gives for `name:tag` (`HEAD` on the manifest).
    pub fn manifest_digest(&self, name: &str, tag: &str) -> Option<String> {
        let accept = "application/vnd.docker.distribution.manifest.v2+json, \
                      application/vnd.docker.distribution.manifest.list.v2+json, \
                      application/vnd.oci.image.manifest.v1+json, \
                      application/vnd.oci.image.index.v1+json";
        let response = self
            .request(
                "HEAD",
                &format!("/v2/{name}/manifests/{tag}"),
                &[("Accept", accept)],
            )
            .expect("ask the registry for a manifest");
        (response.status == 200)
            .then(|| response.header("docker-content-digest"))
            .flatten()
    }

    /// The manifest (or index) document the registry serves for `name:tag`.
    pub fn manifest(&self, name: &str, tag: &str) -> Option<serde_json::Value> {
        let accept = "application/vnd.docker.distribution.manifest.v2+json, \
                      application/vnd.docker.distribution.manifest.list.v2+json, \
                      application/vnd.oci.image.manifest.v1+json, \
                      application/vnd.oci.image.index.v1+json";
        let response = self
            .request(
                "GET",
                &format!("/v2/{name}/manifests/{tag}"),
                &[("Accept", accept)],
            )
            .ok()?;
        (response.status == 200)
            .then(|| serde_json::from_str(&response.body).ok())
            .flatten()
    }

    /// A JSON blob of `name` (an image config), by digest.
    pub fn json_blob(&self, name: &str, digest: &str) -> Option<serde_json::Value> {
        let response = self
            .request("GET", &format!("/v2/{name}/blobs/{digest}"), &[])
            .ok()?;
        (response.status == 200)
            .then(|| serde_json::from_str(&response.body).ok())
            .flatten()
    }

    /// Freezes the server (SIGSTOP): it keeps its socket but answers nothing.
    pub fn freeze(&self) {
        let status = Command::new("kill")
            .args(["-STOP", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(&self.host)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host
        );
        if let Some((user, password)) = &self.auth {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.push_str(&format!("Authorization: Basic {token}\r\n"));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        Response::parse(&String::from_utf8_lossy(&raw))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // SIGKILL also ends a stopped process.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn parse(raw: &str) -> std::io::Result<Self> {
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
        let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(bad)?;
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(bad)?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Ok(Self {
            status,
            headers,
            body: body.to_owned(),
        })
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs the docker CLI, panicking on failure; returns standard output.
pub fn docker(args: &[&str], config: Option<&Path>) -> Vec<u8> {
    let mut command = Command::new("docker");
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let out = command.args(args).output().expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A directory for PATH holding `docker-credential-test`, which answers
/// with `user`/`password` and records the registry it was asked about.
pub fn credential_helper(user: &str, password: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let asked = dir.path().join("asked");
    let script = dir.path().join("docker-credential-test");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread -r server\nprintf '%s' \"$server\" > '{}'\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$server\"\n",
            asked.display()
        ),
    )
    .expect("write helper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (dir, asked)
}

/// Removes every tag and digest reference of the repository of each of
/// `references` (`name[:tag]`); images that keep other names stay.
pub fn remove_repositories(references: &[String]) {
    for reference in references {
        let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
        let repository = match reference[last_slash..].rfind(':') {
            Some(colon) => &reference[..last_slash + colon],
            None => reference.as_str(),
        };
        let Ok(out) = Command::new("docker")
            .args([
                "images",
                "--digests",
                "--format",
                "{{.Repository}}:{{.Tag}} {{.Repository}}@{{.Digest}}",
                repository,
            ])
            .output()
        else {
            continue;
        };
        for name in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if !name.ends_with(":<none>") && !name.ends_with("@<none>") {
                let _ = Command::new("docker")
                    .args(["rmi", name])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}
