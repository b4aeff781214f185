//! COPY and ADD sources that would read outside the build context: a path
//! that climbs out with `..`, or one that reaches a symlink whose target
//! lies outside the context. Each is an error diagnostic on that source in
//! stages.toml, found before anything is sent to the Engine.

use std::fs;
use std::path::{Component, Path, PathBuf};

use globset::GlobBuilder;

use super::codes;
use super::dockerignore::clean_path;
use crate::config::model::{Project, StepKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Located;

/// Diagnostics for every context source of `stages` that escapes `context_dir`.
pub fn escaping_sources(
    project: &Project,
    stages: &[String],
    context_dir: &Path,
) -> Vec<Diagnostic> {
    let Ok(root) = fs::canonicalize(context_dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for stage in project
        .stages
        .iter()
        .filter(|s| stages.contains(&s.name.value))
    {
        for step in &stage.steps {
            let sources: &[Located<String>] = match &step.kind {
                StepKind::Copy(copy) if copy.from.is_none() => &copy.sources,
                StepKind::Add(add) => &add.sources,
                _ => continue,
            };
            for source in sources {
                if is_remote(&source.value) {
                    continue;
                }
                if let Some(reason) = escape_reason(&root, &source.value) {
                    out.push(
                        Diagnostic::error(
                            codes::SOURCE_ESCAPES_CONTEXT,
                            format!(
                                "the source `{}` of a {} step in stage `{}` leads outside the build context",
                                source.value,
                                step.kind.keyword(),
                                stage.name.value
                            ),
                        )
                        .with_label(Label::primary(source.span, reason))
                        .with_help(format!(
                            "copy files from inside the build context ({}), or widen the context with `project.context`",
                            root.display()
                        )),
                    );
                }
            }
        }
    }
    out
}

fn is_remote(source: &str) -> bool {
    ["http://", "https://", "git@", "git://"]
        .iter()
        .any(|scheme| source.starts_with(scheme))
}

/// Why `source` escapes `root` (canonical), if it does.
fn escape_reason(root: &Path, source: &str) -> Option<String> {
    // Docker reads `/a` as `a` inside the context.
    let cleaned = clean_path(source.trim_start_matches('/'));
    if cleaned == ".." || cleaned.starts_with("../") {
        return Some("`..` climbs above the context directory".to_owned());
    }
    if cleaned.contains(['*', '?', '[']) {
        return glob_escape(root, &cleaned);
    }
    symlink_escape(root, Path::new(&cleaned))
}

/// Follows each existing component of `relative`; reports the first
/// symlink whose target resolves outside `root`.
fn symlink_escape(root: &Path, relative: &Path) -> Option<String> {
    let mut current = root.to_owned();
    let mut shown = PathBuf::new();
    for component in relative.components() {
        let Component::Normal(part) = component else {
            continue;
        };
        current.push(part);
        shown.push(part);
        let meta = fs::symlink_metadata(&current).ok()?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&current).ok()?;
            return match fs::canonicalize(&current) {
                Ok(resolved) if resolved.starts_with(root) => {
                    current = resolved;
                    continue;
                }
                Ok(resolved) => Some(format!(
                    "`{}` is a symlink to `{}`, outside the context",
                    shown.display(),
                    resolved.display()
                )),
                Err(_) if target.is_absolute() || escapes_lexically(&shown, &target) => {
                    Some(format!(
                        "`{}` is a symlink to `{}`, outside the context",
                        shown.display(),
                        target.display()
                    ))
                }
                Err(_) => None,
            };
        }
    }
    None
}

fn escapes_lexically(link: &Path, target: &Path) -> bool {
    let joined = link.parent().unwrap_or(Path::new("")).join(target);
    clean_path(&joined.to_string_lossy()).starts_with("..")
}

/// For a wildcard source: every context entry it matches, checked as above.
fn glob_escape(root: &Path, pattern: &str) -> Option<String> {
    let matcher = GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .ok()?
        .compile_matcher();
    let depth = pattern.split('/').count();
    let mut pending = vec![(root.to_owned(), String::new())];
    while let Some((dir, relative)) = pending.pop() {
        let entries = fs::read_dir(&dir).ok()?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            if matcher.is_match(&child)
                && let Some(reason) = symlink_escape(root, Path::new(&child))
            {
                return Some(reason);
            }
            let is_real_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_real_dir && child.split('/').count() < depth {
                pending.push((entry.path(), child));
            }
        }
    }
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = dir.path().join("ctx");
        fs::create_dir_all(ctx.join("src")).unwrap();
        fs::write(ctx.join("src/a.txt"), "a").unwrap();
        fs::write(dir.path().join("outside.txt"), "o").unwrap();
        symlink(dir.path().join("outside.txt"), ctx.join("out-link")).unwrap();
        symlink("../outside.txt", ctx.join("rel-link.txt")).unwrap();
        symlink(dir.path(), ctx.join("out-dir")).unwrap();
        symlink("src", ctx.join("in-link")).unwrap();
        let canonical = fs::canonicalize(&ctx).unwrap();
        (dir, canonical)
    }

    #[test]
    fn parent_components_escape() {
        let (_dir, ctx) = root();
        assert!(escape_reason(&ctx, "../outside.txt").is_some());
        assert!(escape_reason(&ctx, "src/../../outside.txt").is_some());
        assert!(escape_reason(&ctx, "src/../src/a.txt").is_none());
        assert!(escape_reason(&ctx, "/src/a.txt").is_none());
    }

    #[test]
    fn symlinks_out_escape_and_symlinks_in_do_not() {
        let (_dir, ctx) = root();
        assert!(escape_reason(&ctx, "out-link").is_some());
        assert!(escape_reason(&ctx, "rel-link.txt").is_some());
        assert!(escape_reason(&ctx, "out-dir/outside.txt").is_some());
        assert!(escape_reason(&ctx, "in-link/a.txt").is_none());
        assert!(escape_reason(&ctx, "src").is_none());
        assert!(escape_reason(&ctx, "missing/file").is_none());
    }

    #[test]
    fn wildcards_that_match_a_link_out_escape() {
        let (_dir, ctx) = root();
        assert!(escape_reason(&ctx, "*.txt").is_some());
        assert!(escape_reason(&ctx, "src/*.txt").is_none());
    }
}
