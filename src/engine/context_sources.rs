//! COPY and ADD sources checked against the build context on disk, before
//! a build: a source that does not exist is an error that names the
//! nearest path that does; a source that exists but `.dockerignore` leaves
//! out of the context is an error of its own (BuildKit's CopyIgnoredFile),
//! since the builder would not see it either. Sources with variables,
//! `**` patterns, heredocs and URLs are left to the builder.

use std::fs;
use std::path::Path;

use globset::GlobBuilder;

use super::codes;
use super::context::read_dockerignore;
use super::dockerignore::{DockerIgnore, clean_path};
use crate::config::model::{Project, StepKind};
use crate::diagnostics::{Diagnostic, Label, did_you_mean};
use crate::located::Located;

/// How many names of a directory a help line lists.
const LISTED: usize = 8;

/// Diagnostics for the context sources of every stage that the context
/// at `context_dir` does not hold. Nothing when the directory cannot be
/// read (the build reports that) or its `.dockerignore` is invalid.
pub fn missing_sources(project: &Project, context_dir: &Path) -> Vec<Diagnostic> {
    if !context_dir.is_dir() {
        return Vec::new();
    }
    let Ok((ignore, _)) = read_dockerignore(context_dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for stage in &project.stages {
        for step in &stage.steps {
            let sources: &[Located<String>] = match &step.kind {
                StepKind::Copy(copy) if copy.from.is_none() => &copy.sources,
                StepKind::Add(add) => &add.sources,
                _ => continue,
            };
            for source in sources.iter().filter(|s| checkable(&s.value)) {
                let keyword = step.kind.keyword();
                if let Some(diagnostic) = check_source(context_dir, &ignore, source, keyword) {
                    out.push(diagnostic);
                }
            }
        }
    }
    out
}

/// Plain context paths and simple patterns; the rest is the builder's.
fn checkable(source: &str) -> bool {
    let remote = ["http://", "https://", "git@", "git://"]
        .iter()
        .any(|scheme| source.starts_with(scheme));
    !remote && !source.starts_with("<<") && !source.contains('$') && !source.contains("**")
}

fn check_source(
    root: &Path,
    ignore: &DockerIgnore,
    source: &Located<String>,
    keyword: &str,
) -> Option<Diagnostic> {
    // Docker reads `/a` as `a` inside the context.
    let cleaned = clean_path(source.value.trim_start_matches('/'));
    if cleaned == "." || cleaned == ".." || cleaned.starts_with("../") {
        return None;
    }
    if cleaned.contains(['*', '?', '[']) {
        return check_pattern(root, ignore, source, &cleaned, keyword);
    }
    let path = root.join(&cleaned);
    if fs::symlink_metadata(&path).is_err() {
        return Some(missing(root, source, &cleaned, keyword));
    }
    if ignore.is_excluded(&cleaned) && !ignore.may_reinclude_under(&cleaned) {
        return Some(ignored(source, &cleaned, keyword));
    }
    None
}

/// A pattern in one directory (`src/*.go`): some entry there must match
/// and be in the context.
fn check_pattern(
    root: &Path,
    ignore: &DockerIgnore,
    source: &Located<String>,
    cleaned: &str,
    keyword: &str,
) -> Option<Diagnostic> {
    let (dir, _) = cleaned.rsplit_once('/').unwrap_or(("", cleaned));
    if dir.contains(['*', '?', '[']) {
        return None;
    }
    let matcher = GlobBuilder::new(cleaned)
        .literal_separator(true)
        .build()
        .ok()?
        .compile_matcher();
    let listing = fs::read_dir(root.join(dir)).ok()?;
    let matches: Vec<String> = listing
        .flatten()
        .map(|entry| join(dir, &entry.file_name().to_string_lossy()))
        .filter(|path| matcher.is_match(path))
        .collect();
    if matches.is_empty() {
        return Some(
            Diagnostic::error(
                codes::MISSING_SOURCE,
                format!(
                    "no file of the build context matches the {keyword} source `{}`",
                    source.value
                ),
            )
            .with_label(Label::primary(
                source.span,
                "matches nothing in the context",
            ))
            .with_help(listing_help(root, dir)),
        );
    }
    if matches.iter().all(|path| ignore.is_excluded(path)) {
        return Some(ignored(source, cleaned, keyword));
    }
    None
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The deepest existing directory on the way to `cleaned`, and a close
/// name in it for the first missing component.
fn missing(root: &Path, source: &Located<String>, cleaned: &str, keyword: &str) -> Diagnostic {
    let components: Vec<&str> = cleaned.split('/').collect();
    let mut existing = String::new();
    let mut missing_at = 0;
    for (index, component) in components.iter().enumerate() {
        let candidate = join(&existing, component);
        if root.join(&candidate).is_dir() && index + 1 < components.len() {
            existing = candidate;
            missing_at = index + 1;
        } else {
            break;
        }
    }
    let names = entry_names(root, &existing);
    let wanted = components.get(missing_at).copied().unwrap_or_default();
    let close = did_you_mean(wanted, names.iter().map(String::as_str)).map(|name| {
        let mut path = join(&existing, name);
        let rest = components.get(missing_at + 1..).unwrap_or_default();
        if !rest.is_empty() {
            path = format!("{path}/{}", rest.join("/"));
        }
        path
    });
    let help = match close {
        Some(path) => format!("did you mean `{path}`?"),
        None => listing_help(root, &existing),
    };
    Diagnostic::error(
        codes::MISSING_SOURCE,
        format!(
            "the {keyword} source `{}` is not in the build context",
            source.value
        ),
    )
    .with_label(Label::primary(
        source.span,
        format!("no `{cleaned}` in the build context"),
    ))
    .with_help(help)
}

fn ignored(source: &Located<String>, cleaned: &str, keyword: &str) -> Diagnostic {
    Diagnostic::error(
        codes::IGNORED_SOURCE,
        format!(
            "the {keyword} source `{}` is excluded from the build context by .dockerignore",
            source.value
        ),
    )
    .with_label(Label::primary(
        source.span,
        format!("`{cleaned}` is left out by .dockerignore"),
    ))
    .with_help("remove the line of .dockerignore that matches it (or add `!` + its path after it), or copy something else")
}

fn entry_names(root: &Path, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root.join(dir))
        .map(|listing| {
            listing
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn listing_help(root: &Path, dir: &str) -> String {
    let names = entry_names(root, dir);
    let shown = if dir.is_empty() { "the context" } else { dir };
    if names.is_empty() {
        return format!("{shown} is empty: create the file, or fix the path");
    }
    let mut listed: Vec<String> = names
        .iter()
        .take(LISTED)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.len() > LISTED {
        listed.push(format!("and {} more", names.len() - LISTED));
    }
    format!("{shown} holds {}", listed.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;

    fn project(steps: &str) -> Project {
        let text = format!("[stages.a]\nfrom = \"busybox\"\nsteps = [{steps}]\n");
        crate::check::check(&SourceFile::new("stages.toml", text))
            .project
            .expect("valid project")
    }

    fn context(files: &[&str], ignore: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for file in files {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            fs::write(path, "x").expect("write");
        }
        if let Some(text) = ignore {
            fs::write(dir.path().join(".dockerignore"), text).expect("write");
        }
        dir
    }

    fn report(steps: &str, files: &[&str], ignore: Option<&str>) -> Vec<(String, String)> {
        let dir = context(files, ignore);
        missing_sources(&project(steps), dir.path())
            .into_iter()
            .map(|d| (d.code.to_owned(), d.help.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn a_missing_file_names_the_nearest_existing_path() {
        let found = report(
            r#"{ copy = "src/mian.go", to = "/src/" }"#,
            &["src/main.go"],
            None,
        );
        assert_eq!(
            found,
            [(
                codes::MISSING_SOURCE.to_owned(),
                "did you mean `src/main.go`?".to_owned()
            )]
        );
        let found = report(
            r#"{ copy = "nothing-like-it", to = "/" }"#,
            &["go.mod"],
            None,
        );
        assert_eq!(found[0].1, "the context holds `go.mod`");
    }

    #[test]
    fn a_source_left_out_by_dockerignore_has_its_own_code() {
        let found = report(
            r#"{ copy = "secret.txt", to = "/" }, { copy = "kept.txt", to = "/" }"#,
            &["secret.txt", "kept.txt"],
            Some("*.txt\n!kept.txt\n"),
        );
        let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(codes, [codes::IGNORED_SOURCE]);
    }

    #[test]
    fn patterns_must_match_something_and_the_rest_is_left_to_the_builder() {
        assert!(report(r#"{ copy = "*.go", to = "/" }"#, &["main.go"], None).is_empty());
        let found = report(r#"{ copy = "*.rs", to = "/" }"#, &["main.go"], None);
        assert_eq!(found[0].0, codes::MISSING_SOURCE);
        let skipped = r#"{ copy = "${DIR}/x", to = "/" }, { add = "https://example.com/x", to = "/" }, { copy = "a/**/b", to = "/" }"#;
        assert!(report(skipped, &[], None).is_empty());
    }
}
