//! Names the migration gives: stages after their Dockerfile
//! (`Dockerfile.build` → `build`, `thumbor/Dockerfile` → `thumbor`),
//! artifacts after the file, targets after the image repository; each a
//! valid stage name and unique among its kind.

use super::paths;
use crate::check::is_valid_stage_name;

/// The stage name for a Dockerfile's main stage.
pub fn stage_base(dockerfile: &str, is_builder: bool) -> String {
    let file = paths::file_name(dockerfile);
    let lower = file.to_ascii_lowercase();
    let stem = if lower == "dockerfile" || lower == "containerfile" {
        let dir = paths::parent(dockerfile);
        if dir == "." || dir == "/" {
            String::new()
        } else {
            paths::file_name(&dir).to_owned()
        }
    } else if let Some(rest) = lower
        .strip_prefix("dockerfile.")
        .or_else(|| lower.strip_prefix("dockerfile-"))
    {
        rest.to_owned()
    } else if let Some(rest) = lower
        .strip_suffix(".dockerfile")
        .or_else(|| lower.strip_suffix("-dockerfile"))
    {
        rest.to_owned()
    } else {
        lower
    };
    let stem = sanitize(&stem);
    if stem.is_empty() {
        if is_builder { "builder" } else { "runtime" }.to_owned()
    } else {
        stem
    }
}

/// A valid name from any text: lower-case letters, digits, `-`, `_`, `.`,
/// starting with a letter; empty when nothing is left.
pub fn sanitize(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let name = if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        format!("v{trimmed}")
    } else {
        trimmed.to_owned()
    };
    if name.is_empty() || is_valid_stage_name(&name) && name != "scratch" {
        name
    } else {
        format!("{name}-stage")
    }
}

/// `base`, else `base-2`, `base-3`… whichever is free.
pub fn unique(base: &str, taken: &[String]) -> String {
    let mut name = base.to_owned();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

/// The repository's last component of an image tag: `org/app:1.0` → `app`.
pub fn repository_name(tag: &str) -> String {
    let without_digest = tag.split('@').next().unwrap_or(tag);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    sanitize(last.split(':').next().unwrap_or(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_from_dockerfiles() {
        assert_eq!(stage_base("Dockerfile.build", true), "build");
        assert_eq!(stage_base("build.Dockerfile", true), "build");
        assert_eq!(stage_base("Dockerfile", false), "runtime");
        assert_eq!(stage_base("Dockerfile", true), "builder");
        assert_eq!(stage_base("thumbor/Dockerfile", false), "thumbor");
        assert_eq!(stage_base("docker/Dockerfile.Release", false), "release");
    }

    #[test]
    fn names_are_valid_and_unique() {
        assert_eq!(sanitize("Scratch"), "scratch-stage");
        assert_eq!(sanitize("1.0"), "v1.0");
        assert_eq!(unique("app", &["app".into(), "app-2".into()]), "app-3");
        assert_eq!(
            repository_name("registry:5000/org/Href-Counter:0.1"),
            "href-counter"
        );
    }
}
