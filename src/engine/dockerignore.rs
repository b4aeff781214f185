//! `.dockerignore` with Docker's own rules (moby/patternmatcher and its
//! `ignorefile` reader), which are not `.gitignore`'s:
//!
//! - each line is trimmed, `#` lines are comments, a leading `/` is dropped
//!   and the pattern is cleaned like Go's `filepath.Clean`;
//! - a pattern matches a path from the context root (`target` is `./target`,
//!   never `a/target`); `*` and `?` stop at `/`; `**` spans directories;
//! - a path is also excluded when a pattern matches one of its parent
//!   directories;
//! - `!` re-includes, and the last matching line wins.
//!
//! Patterns are compiled to `globset` globs with literal separators. Imports
//! nothing from the rest of the crate.

use globset::{GlobBuilder, GlobMatcher};

/// A parsed `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<IgnorePattern>,
}

#[derive(Debug, Clone)]
struct IgnorePattern {
    /// The cleaned pattern, without its `!`.
    cleaned: String,
    exclusion: bool,
    matcher: GlobMatcher,
}

/// A line of `.dockerignore` that is not a valid pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(".dockerignore line {line}: `{pattern}` is not a valid pattern: {reason}")]
pub struct IgnoreError {
    pub line: usize,
    pub pattern: String,
    pub reason: String,
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore` file.
    pub fn parse(text: &str) -> Result<Self, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw_line) in text.lines().enumerate() {
            if raw_line.starts_with('#') {
                continue;
            }
            let line = raw_line.trim();
            if line.is_empty() {
                continue;
            }
            let error = |reason: &str| IgnoreError {
                line: index + 1,
                pattern: line.to_owned(),
                reason: reason.to_owned(),
            };
            let (exclusion, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if body.is_empty() {
                return Err(error("`!` needs a pattern after it"));
            }
            let mut cleaned = clean_path(body);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let glob = to_glob(&cleaned);
            let matcher = GlobBuilder::new(&glob)
                .literal_separator(true)
                .backslash_escape(true)
                .empty_alternates(true)
                .build()
                .map_err(|e| error(&e.kind().to_string()))?
                .compile_matcher();
            patterns.push(IgnorePattern {
                cleaned,
                exclusion,
                matcher,
            });
        }
        Ok(Self { patterns })
    }

    /// Whether the file or directory at `path` (relative to the context
    /// root, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean_path(path);
        if path == "." {
            return false;
        }
        let parents: Vec<&str> = parent_prefixes(&path).collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // An exclude can only change an included path and a re-include
            // an excluded one; the last matching line wins.
            if pattern.exclusion != excluded {
                continue;
            }
            let matched = pattern.matcher.is_match(&path)
                || parents
                    .iter()
                    .any(|parent| pattern.matcher.is_match(parent));
            if matched {
                excluded = !pattern.exclusion;
            }
        }
        excluded
    }

    /// Whether an excluded directory must still be walked because a `!`
    /// line may re-include something under it (Docker's own test: the
    /// re-include pattern starts with the directory's path).
    pub fn may_reinclude_under(&self, dir: &str) -> bool {
        let dir_slash = format!("{}/", clean_path(dir));
        self.patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| format!("{}/", p.cleaned).starts_with(&dir_slash))
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether a `!` line re-includes something.
    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }
}

/// `a`, `a/b` for `a/b/c`: every proper parent directory of a clean path.
fn parent_prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Docker's pattern syntax as a globset glob. Both agree on `*`, `?`,
/// `[…]` and `\` escapes; they differ on braces (literal for Docker) and on
/// a `**` that is not a whole path component, which Docker still lets span
/// directories.
fn to_glob(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut glob = String::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        match ch {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                // `**/` is read as `**`.
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                let at_start = glob.is_empty() || glob.ends_with('/');
                let at_end = i >= chars.len();
                glob.push_str(match (at_start, at_end) {
                    (true, true) => "**",
                    // Zero or more whole directories.
                    (true, false) => "**/",
                    (false, true) => "{*,*/**}",
                    (false, false) => "{,*/,*/**/}",
                });
                continue;
            }
            '\\' => {
                glob.push('\\');
                if let Some(next) = chars.get(i + 1) {
                    glob.push(*next);
                    i += 1;
                } else {
                    glob.push('\\');
                }
            }
            '{' | '}' | ',' => {
                glob.push('[');
                glob.push(ch);
                glob.push(']');
            }
            _ => glob.push(ch),
        }
        i += 1;
    }
    glob
}

/// Go's `path.Clean`: the shortest equivalent path, `.` for an empty one.
pub fn clean_path(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
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
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap()
    }

    /// (patterns, path, excluded?) — each row checked against Docker's rules.
    const CASES: &[(&str, &str, bool)] = &[
        // Anchored at the context root.
        ("target", "target", true),
        ("target", "target/debug/app", true),
        ("target", "a/target", false),
        ("target", "targets", false),
        ("/target", "target/x", true),
        ("./target", "target/x", true),
        ("target/", "target/x", true),
        ("a//b/../c", "a/c", true),
        // `*` and `?` stop at `/`.
        ("*.log", "x.log", true),
        ("*.log", "logs/x.log", false),
        ("*/*.log", "logs/x.log", true),
        ("?.txt", "a.txt", true),
        ("?.txt", "ab.txt", false),
        ("a?b", "a/b", false),
        // `**` spans directories, including none.
        ("**/*.log", "x.log", true),
        ("**/*.log", "a/b/c/x.log", true),
        ("**/target", "a/target/x", true),
        ("a/**/z", "a/z", true),
        ("a/**/z", "a/b/c/z", true),
        ("a/**", "a/b/c", true),
        ("a/**", "a", false),
        ("**", "anything/at/all", true),
        ("a**", "ab/c", true),
        ("a**", "a", true),
        ("a**z", "az", true),
        ("a**z", "ab/z", true),
        ("a**z", "abz", false),
        // Character classes and escapes.
        ("[ab].txt", "a.txt", true),
        ("[ab].txt", "c.txt", false),
        ("[^a].txt", "b.txt", true),
        ("\\*.txt", "*.txt", true),
        ("\\*.txt", "a.txt", false),
        // Braces are literal.
        ("{a,b}", "a", false),
        ("{a,b}", "{a,b}", true),
        // Re-includes: the last matching line wins.
        ("*.md\n!README.md", "README.md", false),
        ("*.md\n!README.md", "CHANGES.md", true),
        ("!README.md\n*.md", "README.md", true),
        ("docs\n!docs/keep", "docs/keep/a.txt", false),
        ("docs\n!docs/keep", "docs/other.txt", true),
        ("docs/**\n!docs/**/*.txt", "docs/a/b.txt", false),
        ("docs/**\n!docs/**/*.txt", "docs/a/b.md", true),
        // Comments, blanks and surrounding spaces.
        ("# target\n\n   ", "target", false),
        ("  target  ", "target", true),
        ("#!x\n x", "x", true),
        // A parent match excludes everything under it unless re-included.
        ("a/b", "a/b/c/d", true),
        ("a/b\n!a/b/c", "a/b/c/d", false),
        ("a/b\n!a/b/c", "a/b/e", true),
    ];

    #[test]
    fn docker_rules_case_by_case() {
        let mut failures = Vec::new();
        for (patterns, path, expected) in CASES {
            let actual = ignore(patterns).is_excluded(path);
            if actual != *expected {
                failures.push(format!(
                    "{patterns:?} on {path:?}: expected excluded={expected}, got {actual}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn the_root_is_never_excluded() {
        assert!(!ignore("*\n**").is_excluded("."));
    }

    #[test]
    fn a_lone_bang_is_an_error_with_its_line() {
        let error = DockerIgnore::parse("a\n!\n").unwrap_err();
        assert_eq!(error.line, 2);
    }

    #[test]
    fn bad_classes_are_errors() {
        assert!(DockerIgnore::parse("[a").is_err());
    }

    #[test]
    fn reinclusion_under_a_directory_is_detected_by_prefix() {
        let rules = ignore("docs\n!docs/keep/a.txt");
        assert!(rules.may_reinclude_under("docs"));
        assert!(rules.may_reinclude_under("docs/keep"));
        assert!(!rules.may_reinclude_under("src"));
    }

    #[test]
    fn clean_path_follows_go() {
        assert_eq!(clean_path("a/./b/../c/"), "a/c");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("../a"), "../a");
        assert_eq!(clean_path("/../a"), "/a");
        assert_eq!(clean_path("a/.."), ".");
    }
}
