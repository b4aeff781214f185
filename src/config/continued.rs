//! A shell command laid out over continuation lines, as a Dockerfile
//! writes it: every line but the last ends in `\`, and comment or blank
//! lines may sit in between. Such a text means its lines joined the way
//! BuildKit joins them (the `\`, the blanks after it and the line break
//! removed, comment and blank lines dropped, nothing put in their place),
//! so it is one command, not a multi-line script.

/// The command a laid-out text means, or `None` when `text` is not laid
/// out over continuation lines (one line, or a script).
pub fn joined(text: &str) -> Option<String> {
    if !text.contains('\n') || text.ends_with('\n') || text.contains('\r') {
        return None;
    }
    let mut lines = text.split('\n');
    let first = lines.next()?;
    let mut out = String::from(continues(first)?);
    let mut open = true;
    for line in lines {
        if !open {
            return None;
        }
        if is_dropped(line) {
            continue;
        }
        match continues(line) {
            Some(content) => out.push_str(content),
            None => {
                out.push_str(line);
                open = false;
            }
        }
    }
    (!open).then_some(out)
}

/// The text `joined` gives, or `text` itself when it is not laid out.
pub fn command_text(text: &str) -> std::borrow::Cow<'_, str> {
    match joined(text) {
        Some(joined) => joined.into(),
        None => text.into(),
    }
}

/// The line without its continuation (`\` and the blanks after it), if it has one.
pub fn continues(line: &str) -> Option<&str> {
    line.trim_end_matches([' ', '\t']).strip_suffix('\\')
}

/// A comment or blank line, which BuildKit drops inside continuation lines.
pub fn is_dropped(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_join_without_separator() {
        assert_eq!(
            joined("apt-get update && \\\n    apt-get install -y curl").as_deref(),
            Some("apt-get update &&     apt-get install -y curl")
        );
        assert_eq!(
            joined("set -eux; \\\n  # a note\n\n  make \\  \n  && echo done").as_deref(),
            Some("set -eux;   make   && echo done")
        );
    }

    #[test]
    fn scripts_and_single_lines_are_not_laid_out() {
        assert_eq!(joined("echo a"), None);
        // A script: a line ends without `\` before the last.
        assert_eq!(joined("echo a\necho b"), None);
        assert_eq!(joined("echo a \\\necho b\necho c"), None);
        // A heredoc body ends with a line break.
        assert_eq!(joined("echo a \\\necho b\n"), None);
        // The last line may not continue.
        assert_eq!(joined("echo a \\\necho b \\"), None);
        assert_eq!(joined("echo a \\\n# only a comment"), None);
    }
}
