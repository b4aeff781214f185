//! What the classic builder itself does not reproduce: each build of a
//! project made twice with `docker build --no-cache`, the two images
//! compared with no exclusion. What differs must be exactly what
//! `exclusions` lists for the project.

use std::path::Path;

use super::builds::docker_build;
use super::compare::tree_differences;
use super::config::{differences, image_config};
use super::exclusions::{EXCLUSIONS, forgiven};
use super::manifest::ProjectEntry;
use super::tracked::Tracked;
use super::tree::{Tree, image_tree};

/// The paths whose entries differ between two trees (presence or content).
fn differing_paths(first: &Tree, second: &Tree) -> Vec<String> {
    let mut paths: Vec<String> = first
        .iter()
        .filter(|(path, entry)| second.get(*path) != Some(*entry))
        .map(|(path, _)| path.clone())
        .collect();
    paths.extend(second.keys().filter(|p| !first.contains_key(*p)).cloned());
    paths.sort();
    paths
}

/// Problems with the exclusions of `entry`: a difference between two
/// classic builds they do not list, an exclusion no build needed, or a
/// configuration that changed between the two builds.
pub fn classic_twice(entry: &ProjectEntry, projects: &Path) -> Vec<String> {
    let mut tracked = Tracked::new(&format!("{}-twice", entry.name));
    let work = tempfile::tempdir().expect("temp dir");
    let src = work.path().join("src");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(projects.join(&entry.dir))
        .arg(&src)
        .status()
        .expect("run cp");
    assert!(copied.success(), "copy {}", entry.dir);
    let mut problems = Vec::new();
    let mut needed = Vec::new();
    let mut tags: Vec<[String; 2]> = Vec::new();
    for (index, build) in entry.builds.iter().enumerate() {
        let mut pair = Vec::new();
        for run in ["first", "second"] {
            let args: Vec<(String, String)> = build
                .build_args
                .iter()
                .map(|(key, value)| {
                    let earlier = entry.builds[..index].iter().position(|b| &b.tag == value);
                    let value = earlier.map_or_else(|| value.clone(), |i| tags[i][0].clone());
                    (key.clone(), value)
                })
                .collect();
            let tag = tracked.tag(index, run);
            let built = docker_build(&src, build, &args, &tag, &["--no-cache"], &mut tracked);
            match built.result {
                Ok(tag) => pair.push(tag),
                Err(e) => {
                    problems.push(format!("{}: {e}", build.tag));
                    return problems;
                }
            }
        }
        let (first, second) = (&pair[0], &pair[1]);
        problems.extend(
            differences(&image_config(first), &image_config(second))
                .into_iter()
                .map(|d| format!("{}: {d}", build.tag)),
        );
        let (a, b) = (image_tree(first), image_tree(second));
        for path in differing_paths(&a, &b) {
            needed.push(path.clone());
            if forgiven(&entry.name, &path).is_none() {
                problems.push(format!(
                    "{}: /{path} differs and is not excluded",
                    build.tag
                ));
            }
        }
        // Kind, mode, owner and link of an excluded path must still match.
        problems.extend(
            tree_differences(&entry.name, &a, &b)
                .into_iter()
                .map(|d| format!("{}: {d}", build.tag)),
        );
        tags.push([first.clone(), second.clone()]);
    }
    for exclusion in EXCLUSIONS.iter().filter(|e| e.project == entry.name) {
        let used = needed
            .iter()
            .any(|path| forgiven(&entry.name, path).is_some() && covers(exclusion.path, path));
        if !used {
            problems.push(format!(
                "exclusion /{} is not needed: two classic builds agree on it",
                exclusion.path
            ));
        }
    }
    problems
}

fn covers(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(dir) => path.starts_with(&format!("{dir}/")),
        None => pattern == path,
    }
}
