//! Every example builds on the BuildKit back end as on the native one:
//! the same image configuration and file tree, the same files written for
//! an artifact target. An example whose base images cannot exist on a
//! machine without a registry (this one's tests reach none; the images
//! `scripts/base-images.sh` makes offline are `busybox:stages-test` only)
//! says which image it lacks — and is built as soon as they are there.
//! FAILS when the Engine is unreachable.

mod engine_support;

use std::collections::BTreeMap;
use std::path::Path;

use engine_support::forgiven::{self, path_forgiven};
use engine_support::{
    Project, Run, compared_config, engine, files, image_exists, remove_images, repo_root, stages,
    unique,
};

/// An example: the targets (or stages) it is built for, and the images
/// from a registry it needs (none: every base is made offline).
struct Example {
    name: &'static str,
    targets: &'static [&'static str],
    registry_images: &'static [&'static str],
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "quickstart",
        targets: &["app", "dist"],
        registry_images: &[],
    },
    Example {
        name: "artifacts-to-host",
        targets: &["binary"],
        registry_images: &["golang:1.21-alpine"],
    },
    Example {
        name: "external-image",
        targets: &["site"],
        registry_images: &["busybox:1.36", "nginx:latest"],
    },
    Example {
        name: "href-counter",
        targets: &["app"],
        registry_images: &["golang:1.16", "alpine:latest"],
    },
    Example {
        name: "multi-runtime",
        targets: &["runtime"],
        registry_images: &["ubuntu:20.04", "python:3.9-slim", "node:18-slim"],
    },
    Example {
        name: "python-wheels",
        targets: &["app"],
        registry_images: &["python:3.9", "python:3.9-slim"],
    },
    Example {
        name: "stage-chain",
        targets: &["final"],
        registry_images: &["alpine:3.20"],
    },
];

/// Copies an example into a temporary project whose image tags are this
/// run's own (`<prefix>-<target>:<backend>`).
fn copy_example(name: &str, prefix: &str, backend: &str) -> Project {
    let source = repo_root().join("examples").join(name);
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&source, dir.path());
    let toml = std::fs::read_to_string(source.join("stages.toml")).expect("stages.toml");
    let mut target = String::new();
    let retagged: Vec<String> = toml
        .lines()
        .map(|line| {
            if let Some(name) = line
                .strip_prefix("[targets.")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                target = name.to_owned();
            }
            if line.starts_with("tags = ") {
                format!("tags = [\"{prefix}-{target}:{backend}\"]")
            } else {
                line.to_owned()
            }
        })
        .collect();
    std::fs::write(dir.path().join("stages.toml"), retagged.join("\n")).expect("write");
    Project { dir }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "dist" {
            continue;
        }
        let (source, dest) = (entry.path(), to.join(&name));
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&source, &dest);
        } else {
            std::fs::copy(&source, &dest).expect("copy");
        }
    }
}

fn build(project: &Project, backend: &str, targets: &[&str]) -> Run {
    Run::from(
        stages()
            .current_dir(project.path())
            .args(["build", "--backend", backend, "--progress", "plain"])
            .args(targets)
            .output()
            .expect("run stages"),
    )
}

/// The compared configuration, but for what BuildKit's frontend is
/// forgiven (`forgiven::BUILDKIT_CONFIG_FIELDS`).
fn buildkit_compared_config(image: &str) -> serde_json::Value {
    let mut config = compared_config(image);
    if let Some(fields) = config.as_object_mut() {
        for forgiven in forgiven::BUILDKIT_CONFIG_FIELDS {
            fields.remove(forgiven.what);
        }
    }
    config
}

/// Mode, uid, gid, kind, link target and contents of each file of an
/// image, but for the paths the forgiven list names.
type Tree = BTreeMap<String, (u32, u64, u64, String, Option<String>, Vec<u8>)>;

fn image_tree(image: &str) -> Tree {
    files(image, "/")
        .into_iter()
        .filter(|(path, _)| !path_forgiven(path))
        .map(|(path, e)| {
            let kind = format!("{:?}", e.kind);
            (path, (e.mode, e.uid, e.gid, kind, e.link, e.contents))
        })
        .collect()
}

/// Kind, mode, and bytes or link target of each file an artifact target wrote.
fn written(root: &Path) -> BTreeMap<String, (char, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            let name = path
                .strip_prefix(root)
                .expect("inside")
                .display()
                .to_string();
            let mode = meta.permissions().mode() & 0o7777;
            let entry = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                ('l', mode, target.into_os_string().into_encoded_bytes())
            } else if meta.is_dir() {
                pending.push(path.clone());
                ('d', mode, Vec::new())
            } else {
                ('f', mode, std::fs::read(&path).expect("read"))
            };
            found.insert(name, entry);
        }
    }
    found
}

#[test]
fn every_example_is_listed_with_the_images_it_needs() {
    let mut on_disk: Vec<String> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("stages.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXAMPLES.iter().map(|e| e.name.to_owned()).collect();
    listed.sort();
    assert_eq!(listed, on_disk, "an example is missing from EXAMPLES");
    for example in EXAMPLES {
        let path = repo_root().join("examples").join(example.name);
        let toml = std::fs::read_to_string(path.join("stages.toml")).expect("stages.toml");
        for image in example.registry_images {
            let repository = image.split(':').next().unwrap_or(image);
            assert!(
                toml.contains(&format!("\"{repository}:")),
                "{}: does not name {image}",
                example.name
            );
        }
        if example.registry_images.is_empty() {
            assert!(
                !toml.contains("from-image") && toml.matches("from = \"").count() > 0,
                "{}",
                example.name
            );
            for line in toml.lines().filter(|l| l.starts_with("from = \"")) {
                assert_eq!(line, "from = \"busybox:stages-test\"", "{}", example.name);
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn every_example_builds_on_buildkit_as_on_native() {
    engine();
    let mut built = Vec::new();
    for example in EXAMPLES {
        let missing: Vec<&str> = example
            .registry_images
            .iter()
            .copied()
            .filter(|image| !image_exists(image))
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "example {}: not built: it needs {} from a registry, and none is reachable from this machine (scripts/base-images.sh makes only busybox:stages-test offline)",
                example.name,
                missing.join(", ")
            );
            continue;
        }
        let prefix = unique(&format!("stages-example-{}", example.name));
        let native = copy_example(example.name, &prefix, "native");
        let buildkit = copy_example(example.name, &prefix, "buildkit");
        build(&native, "native", example.targets).success();
        let run = build(&buildkit, "buildkit", example.targets).success();
        let text = std::fs::read_to_string(buildkit.path().join("stages.toml")).expect("read");
        let mut tags = Vec::new();
        for target in example.targets {
            let tag = format!("{prefix}-{target}");
            if text.contains(&format!("\"{tag}:buildkit\"")) {
                let (ours, theirs) = (format!("{tag}:buildkit"), format!("{tag}:native"));
                assert_eq!(
                    buildkit_compared_config(&ours),
                    buildkit_compared_config(&theirs),
                    "{}: image config of target {target}\n{}",
                    example.name,
                    run.describe()
                );
                assert!(
                    image_tree(&ours) == image_tree(&theirs),
                    "{}: the files of target {target} differ",
                    example.name
                );
                tags.push(ours);
                tags.push(theirs);
            }
        }
        let native_dist = native.path().join("dist");
        if native_dist.exists() {
            assert_eq!(
                written(&buildkit.path().join("dist")),
                written(&native_dist),
                "{}: the artifacts written differ",
                example.name
            );
        }
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        remove_images(&tags);
        built.push(example.name);
    }
    // busybox:stages-test is always made: the offline example is always built.
    assert!(built.contains(&"quickstart"), "{built:?}");
}
