//! Unified diffs for `--check`, in bounded time.

use std::time::Duration;

/// How long the search for the smallest diff may run. The search costs the
/// product of the file's length and the number of changed lines, which on
/// a file of thousands of changed lines would run for seconds; past this,
/// the rest is shown as replaced lines: still a true diff, only not the
/// smallest.
const SEARCH_TIME: Duration = Duration::from_millis(300);

/// `old` → `new` as a unified diff with `context` lines around changes.
pub fn unified(old: &str, new: &str, context: usize, headers: (&str, &str)) -> String {
    similar::TextDiff::configure()
        .timeout(SEARCH_TIME)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(context)
        .header(headers.0, headers.1)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn shows_the_changed_lines() {
        let diff = unified("a\nb\nc\n", "a\nB\nc\n", 1, ("old", "new"));
        assert_eq!(diff, "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    }
}
