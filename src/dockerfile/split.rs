//! Splitting a logical line into keyword, flags and the rest, as BuildKit's
//! `splitCommand` / `extractBuilderFlags` do.

use std::borrow::Cow;

/// Go's `unicode.IsSpace` on a single byte read as a Latin-1 rune, which is
/// how BuildKit scans flags and HEALTHCHECK.
pub fn byte_is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// BuildKit's `reWhitespace`: `[\t\v\f\r ]`.
pub fn is_separator(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Splits on runs of `[\t\v\f\r ]`, at most `limit` parts (0 = no limit).
pub fn split_separators(s: &str, limit: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = s;
    loop {
        if limit != 0 && parts.len() + 1 == limit {
            parts.push(rest);
            return parts;
        }
        match rest.find(is_separator) {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = rest[at..].trim_start_matches(is_separator);
            }
            None => {
                parts.push(rest);
                return parts;
            }
        }
    }
}

/// Keyword as written, flags, and the arguments text (trimmed).
pub fn split_command(line: &str) -> (&str, Vec<String>, Cow<'_, str>) {
    let trimmed = line.trim();
    match trimmed.find(is_separator) {
        None => (trimmed, Vec::new(), Cow::Borrowed("")),
        Some(at) => {
            let rest = trimmed[at..].trim_start_matches(is_separator);
            let (args, flags) = extract_flags(rest);
            let args = match args {
                Cow::Borrowed(a) => Cow::Borrowed(a.trim()),
                Cow::Owned(a) => Cow::Owned(a.trim().to_string()),
            };
            (&trimmed[..at], flags, args)
        }
    }
}

/// Leading `--words` are flags; a bare `--` ends them and is dropped.
fn extract_flags(line: &str) -> (Cow<'_, str>, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let bytes = line.as_bytes();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= bytes.len() {
        let mut ch = bytes.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == bytes.len() {
                break;
            }
            if byte_is_space(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || bytes.get(pos + 1) != Some(&b'-') {
                return (lossy_from(line, pos), words);
            }
            phase = Phase::Word;
        }
        if pos == bytes.len() {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if byte_is_space(ch) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (lossy_from(line, pos), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            if ch == b'\\' {
                if pos + 1 == bytes.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = bytes[pos];
            }
            // Go appends the byte as a Latin-1 rune.
            word.push(char::from(ch));
            pos += 1;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        if ch == b'\\' {
            if pos + 1 == bytes.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = bytes[pos];
        }
        word.push(char::from(ch));
        pos += 1;
    }
    (Cow::Borrowed(""), words)
}

/// `line[pos..]`, even when `pos` falls inside a character.
fn lossy_from(line: &str, pos: usize) -> Cow<'_, str> {
    match line.get(pos..) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(String::from_utf8_lossy(&line.as_bytes()[pos..]).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::split_command;

    #[test]
    fn splits_flags() {
        let (k, f, a) = split_command("COPY --from=a --link -- --x y");
        assert_eq!(k, "COPY");
        assert_eq!(f, vec!["--from=a", "--link"]);
        assert_eq!(a, "--x y");
        let (_, f, a) = split_command("CMD --doit -- [ ]");
        assert_eq!(f, vec!["--doit"]);
        assert_eq!(a, "[ ]");
        let (_, f, a) = split_command("RUN --mount=\"type=cache,target=/a b\" make");
        assert_eq!(f, vec!["--mount=type=cache,target=/a b"]);
        assert_eq!(a, "make");
    }
}
