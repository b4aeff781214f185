//! CopyIgnoredFile: a COPY or ADD source from the build context that the
//! `.dockerignore` excludes, as BuildKit checks it: the source cleaned,
//! excluded when it or one of its parents matches. A `.dockerignore` that
//! re-includes (`!`) is not checked at all, as in BuildKit: a file under an
//! excluded directory may then still be sent.

use crate::diagnostics::Diagnostic;
use crate::dockerfile::Program;
use crate::dockerfile::instructions::Command;
use crate::lint::IgnoredPaths;
use crate::lint::finding::finding;
use crate::lint::rules;

pub fn check(program: &Program<'_>, ignored: Option<&IgnoredPaths>, out: &mut Vec<Diagnostic>) {
    let Some(ignored) = ignored else {
        return;
    };
    for stage in &program.stages {
        for instruction in &stage.instructions {
            let (paths, verb) = match &instruction.command {
                Command::Copy(copy) if copy.from.is_none() => (&copy.paths, "Copy"),
                Command::Add(add) => (&add.paths, "Add"),
                _ => continue,
            };
            for source in &paths.sources {
                // Sources that are not context paths, or that only the
                // stage's variables would spell, are not checked.
                if source.starts_with("<<")
                    || source.contains("://")
                    || source.starts_with("git@")
                    || source.contains('$')
                {
                    continue;
                }
                let path = clean(&unquoted(source));
                if !ignored.excludes(&path) {
                    continue;
                }
                out.push(
                    finding(
                        &rules::COPY_IGNORED_FILE,
                        instruction.span,
                        format!(
                            "Attempting to {verb} file {path:?} that is excluded by .dockerignore"
                        ),
                        format!("`{path}` is excluded by .dockerignore"),
                    )
                    .with_help(
                        "remove the source, or stop excluding it in .dockerignore (the build would not find it)",
                    ),
                );
            }
        }
    }
}

/// A word without its shell quotes.
fn unquoted(word: &str) -> String {
    word.chars().filter(|c| !matches!(c, '"' | '\'')).collect()
}

/// The path as Go's `filepath.Clean` leaves it.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        for (path, want) in [
            ("./a/b/", "a/b"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("/../a", "/a"),
            (".", "."),
            ("a//b/./c", "a/b/c"),
        ] {
            assert_eq!(clean(path), want, "{path}");
        }
    }
}
