//! Lint's rules that need what only the Engine knows, on the real Engine:
//! an image made locally (`docker load` of a hand-written archive) whose
//! config names another architecture, an env variable and a user.
//! InvalidBaseImagePlatform reads its platform, UndefinedVar its env and
//! RootRuntimeUser its user, for stages.toml and for a Dockerfile.

mod engine_support;

use std::io::Write as _;
use std::process::{Command, Stdio};

use engine_support::{Run, engine, remove_images, stages, unique};
use sha2::{Digest, Sha256};

/// An architecture that is not the Engine's (the tests run beside it).
fn foreign_arch() -> &'static str {
    if std::env::consts::ARCH == "s390x" {
        "ppc64le"
    } else {
        "s390x"
    }
}

/// A `docker save` archive of one image: one layer holding `/hello`, and
/// a config for `linux/<arch>` with `GOPATH` in its env and user `app`.
fn image_archive(tag: &str, arch: &str) -> Vec<u8> {
    let mut layer = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o644);
    header.set_cksum();
    layer
        .append_data(&mut header, "hello", &b"hi\n"[..])
        .expect("layer entry");
    let layer = layer.into_inner().expect("layer tar");
    let diff_id = format!("sha256:{:x}", Sha256::digest(&layer));
    let config = serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "GOPATH=/go"],
            "User": "app",
        },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": "2024-01-01T00:00:00Z", "created_by": "stages test" }],
    })
    .to_string();
    let config_name = format!("{:x}.json", Sha256::digest(config.as_bytes()));
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": [tag],
        "Layers": ["layer/layer.tar"],
    }])
    .to_string();
    let mut archive = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        (config_name.as_str(), config.as_bytes()),
        ("layer/layer.tar", layer.as_slice()),
        ("manifest.json", manifest.as_bytes()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive
            .append_data(&mut header, name, bytes)
            .expect("archive entry");
    }
    archive.into_inner().expect("archive")
}

/// Loads the image into the Engine; removed again when dropped.
struct LoadedImage {
    tag: String,
}

impl LoadedImage {
    fn new(arch: &str) -> Self {
        engine();
        let tag = format!("{}:latest", unique("stages-lint-platform"));
        let mut load = Command::new("docker")
            .args(["load", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker load runs");
        load.stdin
            .take()
            .expect("stdin")
            .write_all(&image_archive(&tag, arch))
            .expect("archive sent");
        let out = load.wait_with_output().expect("docker load ends");
        assert!(
            out.status.success(),
            "docker load: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { tag }
    }
}

impl Drop for LoadedImage {
    fn drop(&mut self) {
        remove_images(&[self.tag.as_str()]);
    }
}

/// `(rule, line)` of each finding of `stages ARGS --message-format json`.
fn findings(dir: &std::path::Path, args: &[&str]) -> Vec<(String, u64)> {
    let out = Run::from(
        stages()
            .current_dir(dir)
            .args(args)
            .args(["--message-format", "json"])
            .output()
            .expect("stages runs"),
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    out.stdout
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).expect("json line");
            let code = json["code"].as_str().unwrap_or_default();
            (
                code.rsplit("::").next().unwrap_or_default().to_owned(),
                json["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

fn rules_at(found: &[(String, u64)], rule: &str) -> Vec<u64> {
    found
        .iter()
        .filter(|(r, _)| r == rule)
        .map(|(_, line)| *line)
        .collect()
}

#[test]
fn stages_toml_rules_read_the_base_image_from_the_engine() {
    let arch = foreign_arch();
    let image = LoadedImage::new(arch);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("stages.toml"),
        format!(
            r#"[stages.tools]
from = "{tag}"
env = {{ GOBIN = "$GOPATH/bin", CACHE = "$NOT_IN_IMAGE/cache" }}

[stages.tools-{arch}]
from = "{tag}"
platform = "linux/{arch}"

[targets.tools]
stage = "tools"
tags = ["stages-lint-platform-never-built:latest"]
"#,
            tag = image.tag
        ),
    )
    .expect("write stages.toml");
    let found = findings(dir.path(), &["lint"]);
    // Built for the Engine's platform, the foreign image is reported; the
    // stage that asks for its platform is not.
    assert_eq!(
        rules_at(&found, "InvalidBaseImagePlatform"),
        [2],
        "{found:?}"
    );
    // The image's env has GOPATH, not NOT_IN_IMAGE.
    assert_eq!(rules_at(&found, "UndefinedVar"), [3], "{found:?}");
    // The image's config runs as `app`, not root.
    assert!(rules_at(&found, "RootRuntimeUser").is_empty(), "{found:?}");
}

#[test]
fn dockerfile_rules_read_the_base_image_from_the_engine() {
    let arch = foreign_arch();
    let image = LoadedImage::new(arch);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM {tag} AS tools\nENV GOBIN=$GOPATH/bin\nENV CACHE=$NOT_IN_IMAGE/cache\n\nFROM --platform=linux/{arch} {tag} AS tools-{arch}\n",
            tag = image.tag
        ),
    )
    .expect("write Dockerfile");
    let found = findings(dir.path(), &["dockerfile", "lint", "Dockerfile"]);
    assert_eq!(
        rules_at(&found, "InvalidBaseImagePlatform"),
        [1],
        "{found:?}"
    );
    assert_eq!(rules_at(&found, "UndefinedVar"), [3], "{found:?}");
}
