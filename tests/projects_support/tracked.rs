//! What one project's comparison made on the shared Engine, so that it
//! removes exactly that and nothing else: its tags (every image it
//! compares is tagged `stages-equiv-…`), the intermediate images the
//! classic builder made for it (read from its output: an image after a
//! step that was not `Using cache`), its containers (labelled
//! `dev.stages.test=<run>`), and the native back end's cache entries
//! (labelled with the project, removed by `stages cache prune`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

pub const LABEL_KEY: &str = "dev.stages.test";

pub struct Tracked {
    run: String,
    counter: usize,
    tags: Vec<String>,
    images: BTreeSet<String>,
    stages_projects: Vec<PathBuf>,
}

impl Tracked {
    pub fn new(project: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            run: format!("stages-equiv-{}-{nanos:x}-{project}", std::process::id()),
            counter: 0,
            tags: Vec::new(),
            images: BTreeSet::new(),
            stages_projects: Vec::new(),
        }
    }

    /// `dev.stages.test=<run>`, for `--label`.
    pub fn label(&self) -> String {
        format!("{LABEL_KEY}={}", self.run)
    }

    pub fn container_name(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{}-{what}-{}", self.run, self.counter)
    }

    /// A tag of this run for build `index` made by `way`; removed at the end.
    pub fn tag(&mut self, index: usize, way: &str) -> String {
        let tag = format!("{}-{index}:{way}", self.run);
        self.tags.push(tag.clone());
        tag
    }

    /// The images a `docker build` (classic) made, from its output.
    pub fn classic_output(&mut self, output: &str) {
        self.images.extend(created_images(output));
    }

    /// An image a build made that nothing else names.
    pub fn image(&mut self, id: &str) {
        self.images.insert(id.to_owned());
    }

    /// A stages project whose native cache entries go at the end.
    pub fn stages_project(&mut self, dir: PathBuf) {
        self.stages_projects.push(dir);
    }
}

/// The ids the classic builder printed (` ---> 0123abcd`) for steps it ran,
/// not for a base image (`FROM`) or a step it took from the cache.
pub fn created_images(output: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut from_or_cached = false;
    for line in output.lines() {
        let line = line.trim();
        if let Some(step) = line.strip_prefix("Step ") {
            let instruction = step.split(" : ").nth(1).unwrap_or_default();
            from_or_cached = instruction
                .split_whitespace()
                .next()
                .is_some_and(|word| word.eq_ignore_ascii_case("FROM"));
        } else if line == "---> Using cache" {
            from_or_cached = true;
        } else if let Some(id) = line.strip_prefix("---> ") {
            let is_id = id.len() >= 12 && id.chars().all(|c| c.is_ascii_hexdigit());
            if is_id && !from_or_cached {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let filter = format!("label={}", self.label());
        if let Ok(out) = Command::new("docker")
            .args(["ps", "-aq", "--filter", &filter])
            .output()
        {
            for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
        for dir in &self.stages_projects {
            let _ = crate::engine_support::stages()
                .current_dir(dir)
                .args(["cache", "prune"])
                .output();
        }
        for tag in &self.tags {
            let _ = Command::new("docker").args(["rmi", tag]).output();
        }
        // Children before parents: a pass removes the leaves, the next the
        // images they held.
        for _ in 0..4 {
            for id in &self.images {
                let _ = Command::new("docker").args(["rmi", id]).output();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::created_images;

    #[test]
    fn only_images_of_steps_that_ran_count() {
        let output = "Step 1/4 : FROM golang:1.22 as build\n ---> aaaaaaaaaaaa\n\
                      Step 2/4 : WORKDIR /src\n ---> Using cache\n ---> bbbbbbbbbbbb\n\
                      Step 3/4 : COPY . .\n ---> cccccccccccc\n\
                      Step 4/4 : RUN go build\n ---> Running in dddddddddddd\n\
                      Removing intermediate container dddddddddddd\n ---> eeeeeeeeeeee\n\
                      Successfully built eeeeeeeeeeee\n";
        assert_eq!(created_images(output), ["cccccccccccc", "eeeeeeeeeeee"]);
    }
}
