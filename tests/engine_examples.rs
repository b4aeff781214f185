//! Every example builds on the BuildKit back end as on the native one:
//! the same image configuration and file tree, the same files written for
//! an artifact target. The examples build on official image names that
//! `scripts/base-images.sh --examples` makes offline from Debian packages
//! (`scripts/example-images.txt`); an example whose images are missing says
//! which, and under CI that is a failure.
//! FAILS when the Engine is unreachable.

mod engine_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use engine_support::image_views::{buildkit_compared_config, image_tree};
use engine_support::{
    NewCacheVolumes, Project, Run, engine, image_exists, remove_images, repo_root, stages, unique,
};

/// An example and the targets (or stages) it is built for.
struct Example {
    name: &'static str,
    targets: &'static [&'static str],
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "quickstart",
        targets: &["app", "dist"],
    },
    Example {
        name: "artifacts-to-host",
        targets: &["binary"],
    },
    Example {
        name: "external-image",
        targets: &["site"],
    },
    Example {
        name: "href-counter",
        targets: &["app"],
    },
    Example {
        name: "multi-runtime",
        targets: &["runtime"],
    },
    Example {
        name: "python-wheels",
        targets: &["app"],
    },
    Example {
        name: "stage-chain",
        targets: &["final"],
    },
];

/// The image every engine test builds on, made by `scripts/base-images.sh`.
const TEST_IMAGE: &str = "busybox:stages-test";

/// Whether `CI` is set as CI services set it (`true`, `1`).
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The images `scripts/base-images.sh --examples` makes.
fn listed_images() -> BTreeSet<String> {
    let path = repo_root().join("scripts/example-images.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The images an example's plan for its targets names, args expanded
/// (`stages plan` prints `golang:${V} (by default golang:1.23)`).
fn planned_images(example: &Example) -> BTreeSet<String> {
    let output = stages()
        .current_dir(repo_root().join("examples").join(example.name))
        .arg("plan")
        .args(example.targets)
        .output()
        .expect("run stages plan");
    let run = Run::from(output).success();
    let text = &run.stdout;
    let mut images = BTreeSet::new();
    let mut in_images = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            in_images = line == "images:";
            continue;
        }
        if in_images {
            let image = line.trim();
            let image = image
                .split_once(" (by default ")
                .map_or(image, |(_, expanded)| expanded.trim_end_matches(')'));
            images.insert(image.to_owned());
        }
    }
    images
}

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
fn every_example_is_listed_and_its_images_are_made_offline() {
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
    let mut named = BTreeSet::new();
    for example in EXAMPLES {
        let images = planned_images(example);
        assert!(
            !images.is_empty() || example.name == "href-counter",
            "{}: its plan names no image",
            example.name
        );
        named.extend(images);
    }
    named.remove(TEST_IMAGE);
    assert_eq!(
        named,
        listed_images(),
        "the images the examples name and scripts/example-images.txt differ"
    );
}

#[cfg(unix)]
#[test]
fn every_example_builds_on_buildkit_as_on_native() {
    engine();
    let _volumes = NewCacheVolumes::watch();
    let mut built = Vec::new();
    for example in EXAMPLES {
        let missing: Vec<String> = planned_images(example)
            .into_iter()
            .filter(|image| !image_exists(image))
            .collect();
        if !missing.is_empty() {
            let why = format!(
                "example {}: not built: {} missing; make the examples' images with scripts/base-images.sh --examples",
                example.name,
                missing.join(", ")
            );
            assert!(!under_ci(), "{why}");
            eprintln!("{why}");
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
    // busybox:stages-test is always made: quickstart is always built.
    assert!(built.contains(&"quickstart"), "{built:?}");
}
