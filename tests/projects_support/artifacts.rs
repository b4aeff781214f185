//! Artifact targets: every artifact `stages import` named (a path a later
//! stage copies from an earlier one) exported to the host by `stages
//! build` must be the files `docker cp` takes from the same stage built by
//! `docker build --target STAGE`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::backends::{StagesBackend, docker_classic};
use super::builds::{Imported, tail};
use super::manifest::BuildEntry;
use super::tracked::Tracked;

/// An artifact of the imported stages.toml: its name, stage and path.
pub struct Artifact {
    pub name: String,
    pub stage: String,
    pub path: String,
}

/// The artifacts a plain `docker cp` can take (no variables, no wildcards),
/// each given a target `files-NAME` in the stages.toml.
pub fn add_targets(imported: &Imported) -> Vec<Artifact> {
    let file = imported.dir.join("stages.toml");
    let mut text = std::fs::read_to_string(&file).expect("read stages.toml");
    let parsed: toml::Table = toml::from_str(&text).expect("stages.toml");
    let mut artifacts = Vec::new();
    let Some(table) = parsed.get("artifacts").and_then(toml::Value::as_table) else {
        return artifacts;
    };
    for (name, artifact) in table {
        let stage = artifact.get("stage").and_then(toml::Value::as_str);
        let path = artifact.get("path").and_then(toml::Value::as_str);
        let (Some(stage), Some(path)) = (stage, path) else {
            continue;
        };
        if path.contains(['$', '*', '?', '[']) {
            continue;
        }
        text.push_str(&format!(
            "\n[targets.files-{name}]\nartifacts = [\"{name}\"]\noutput = \"files-{name}\"\n"
        ));
        artifacts.push(Artifact {
            name: name.clone(),
            stage: stage.to_owned(),
            path: path.to_owned(),
        });
    }
    std::fs::write(&file, text).expect("write stages.toml");
    artifacts
}

/// A host directory's files: relative path → kind, mode, size and hash or
/// link target.
pub type HostTree = BTreeMap<String, String>;

pub fn host_tree(dir: &Path) -> HostTree {
    let mut tree = HostTree::new();
    walk(dir, dir, &mut tree);
    tree
}

fn walk(root: &Path, dir: &Path, tree: &mut HostTree) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let name = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mode = meta.mode() & 0o7777;
        let owner = format!("{}:{}", meta.uid(), meta.gid());
        let what = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            format!("link -> {}, owner {owner}", target.display())
        } else if meta.is_dir() {
            walk(root, &path, tree);
            format!("dir, mode {mode:o}, owner {owner}")
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            format!(
                "file, mode {mode:o}, owner {owner}, {} bytes, sha256 {}",
                meta.len(),
                hex::encode(Sha256::digest(&bytes))
            )
        };
        tree.insert(name, what);
    }
}

/// `docker cp` of the artifact's path out of the stage `docker build
/// --target STAGE` builds (from the reference's cache) into `into`.
pub fn docker_cp(
    src: &Path,
    build: &BuildEntry,
    args: &[(String, String)],
    artifact: &Artifact,
    into: &Path,
    tracked: &mut Tracked,
) -> Result<(), String> {
    let tag = tracked.tag(0, &format!("stage-{}", artifact.stage));
    let mut command = docker_classic();
    command
        .current_dir(src)
        .args(["build", "-t", &tag, "--target", &artifact.stage]);
    for (key, value) in args {
        command.args(["--build-arg", &format!("{key}={value}")]);
    }
    command.args(["-f", &build.dockerfile, &build.context]);
    let out = command.output().expect("run docker build --target");
    tracked.classic_output(&String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        return Err(format!(
            "docker build --target {}: {}",
            artifact.stage,
            tail(&out, 8)
        ));
    }
    let name = tracked.container_name("cp");
    let created = Command::new("docker")
        .args([
            "create",
            "--name",
            &name,
            "--label",
            &tracked.label(),
            &tag,
            "none",
        ])
        .output()
        .expect("run docker create");
    if !created.status.success() {
        return Err(format!("docker create: {}", tail(&created, 4)));
    }
    std::fs::create_dir_all(into).expect("mkdir for docker cp");
    let copied = Command::new("docker")
        .arg("cp")
        .arg(format!("{name}:{}", artifact.path))
        .arg(format!("{}/", into.display()))
        .output()
        .expect("run docker cp");
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    if copied.status.success() {
        Ok(())
    } else {
        Err(format!("docker cp {}: {}", artifact.path, tail(&copied, 4)))
    }
}

/// `stages build files-NAME --backend B --output files-NAME=INTO`, from
/// the cache the image build left.
pub fn stages_export(
    imported: &Imported,
    backend: &StagesBackend,
    args: &[(String, String)],
    artifact: &Artifact,
    into: &Path,
) -> Result<(), String> {
    let target = format!("files-{}", artifact.name);
    let mut command = crate::engine_support::stages();
    command
        .current_dir(&imported.dir)
        .args([
            "build",
            &target,
            "--backend",
            backend.name,
            "--progress",
            "quiet",
        ])
        .arg("--output")
        .arg(format!("{target}={}", into.display()));
    for (key, value) in args {
        command.args(["--build-arg", &format!("{key}={value}")]);
    }
    let out = command.output().expect("run stages build");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("stages build {target}: {}", tail(&out, 12)))
    }
}

/// One line per path that differs between the two host trees.
pub fn host_differences(expected: &HostTree, actual: &HostTree) -> Vec<String> {
    let mut out = Vec::new();
    for (path, want) in expected {
        match actual.get(path) {
            None => out.push(format!("exported {path}: only from docker cp ({want})")),
            Some(got) if got != want => {
                out.push(format!("exported {path}: docker cp {want}; stages {got}"));
            }
            Some(_) => {}
        }
    }
    for (path, got) in actual {
        if !expected.contains_key(path) {
            out.push(format!("exported {path}: only from stages ({got})"));
        }
    }
    out
}
