//! Parser directives (`# syntax=…`, `# escape=…`, `# check=…`): only at the
//! very top of the file, before any instruction, comment or blank line.

/// Directive names BuildKit recognises.
pub const KNOWN: &[&str] = &["syntax", "escape", "check"];

/// Watches the first lines of a file for directives.
#[derive(Debug, Default)]
pub struct DirectiveScanner {
    done: bool,
    seen: Vec<String>,
}

/// What one line turned out to be.
pub enum DirectiveLine {
    NotADirective,
    Directive { name: String, value: String },
    Repeated(String),
}

impl DirectiveScanner {
    /// Whether the directives are over: no later line can be one.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Looks at one line (newline removed); once a line is not a directive,
    /// no later line is.
    pub fn scan(&mut self, line: &str) -> DirectiveLine {
        if self.done {
            return DirectiveLine::NotADirective;
        }
        let Some((name, value)) = match_directive(line) else {
            self.done = true;
            return DirectiveLine::NotADirective;
        };
        let name = name.to_ascii_lowercase();
        if !KNOWN.contains(&name.as_str()) {
            self.done = true;
            return DirectiveLine::NotADirective;
        }
        if self.seen.contains(&name) {
            return DirectiveLine::Repeated(name);
        }
        self.seen.push(name.clone());
        DirectiveLine::Directive {
            name,
            value: value.to_string(),
        }
    }
}

/// `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` with RE2's ASCII `\s`.
fn match_directive(line: &str) -> Option<(&str, &str)> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}');
    let rest = line.strip_prefix('#')?.trim_start_matches(is_space);
    let first = rest.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let (name, rest) = rest.split_at(name_len);
    let rest = rest.trim_start_matches(is_space).strip_prefix('=')?;
    let value = rest.trim_start_matches(is_space).trim_end_matches(is_space);
    // `(.+?)` needs one character: with only blanks after `=`, RE2 backs off
    // and the value is the last blank.
    let value = match (value.is_empty(), rest.char_indices().last()) {
        (true, Some((at, _))) => &rest[at..],
        _ => value,
    };
    if value.is_empty() || value.contains('\n') {
        return None;
    }
    Some((name, value))
}

/// Whether a comment line would be read as a directive at the top of a file.
pub fn looks_like_directive(line: &str) -> bool {
    match_directive(line)
        .is_some_and(|(name, _)| KNOWN.contains(&name.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::match_directive;

    #[test]
    fn matches_directives() {
        assert_eq!(match_directive("# escape = `"), Some(("escape", "`")));
        assert_eq!(match_directive("#syntax=a b "), Some(("syntax", "a b")));
        assert_eq!(match_directive("# vim: x=y"), None);
        assert_eq!(match_directive("# x="), None);
    }
}
