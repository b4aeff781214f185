//! Finding here-documents on an instruction line (`<<EOF`, `<<-EOF`,
//! `<<"EOF"`, `3<<EOF`), as BuildKit's `heredocsFromLine` does: split the
//! line into shell words, then read each word that looks like `N<<-WORD`.

use super::syntax::Heredoc;

/// How the shell-word splitter treats quotes and escapes.
#[derive(Clone, Copy)]
struct Mode {
    raw_quotes: bool,
    raw_escapes: bool,
}

/// Splits shell words with `\` as escape; `None` on an unterminated quote.
fn shell_words(input: &str, mode: Mode) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = input.chars().peekable();
    while let Some(&ch) = chars.peek() {
        match ch {
            '\'' => {
                chars.next();
                let mut text = String::new();
                if mode.raw_quotes {
                    text.push('\'');
                }
                loop {
                    match chars.next() {
                        None => return None,
                        Some('\'') => break,
                        Some(c) => text.push(c),
                    }
                }
                if mode.raw_quotes {
                    text.push('\'');
                }
                word.push_str(&text);
                in_word = true;
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                if mode.raw_quotes {
                    text.push('"');
                }
                loop {
                    match chars.next() {
                        None => return None,
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            None => {}
                            Some(&next @ ('"' | '$' | '\\')) => {
                                if mode.raw_escapes {
                                    text.push('\\');
                                }
                                chars.next();
                                text.push(next);
                            }
                            Some(_) => text.push('\\'),
                        },
                        Some(c) => text.push(c),
                    }
                }
                if mode.raw_quotes {
                    text.push('"');
                }
                word.push_str(&text);
                in_word = true;
            }
            _ => {
                chars.next();
                if ch == '\\' {
                    if mode.raw_escapes {
                        word.push(ch);
                    }
                    let Some(next) = chars.next() else {
                        break;
                    };
                    word.push(next);
                    in_word = true;
                } else if ch == '<' && chars.peek() == Some(&'<') {
                    // `<<` keeps the blanks after it in the word, as
                    // BuildKit's lexer does for `<<  EOF`.
                    chars.next();
                    word.push_str("<<");
                    while let Some(&blank @ (' ' | '\t' | '\r')) = chars.peek() {
                        word.push(blank);
                        chars.next();
                    }
                    in_word = true;
                } else if ch.is_whitespace() {
                    if in_word && !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                } else {
                    word.push(ch);
                    in_word = true;
                }
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Some(words)
}

/// Reads one word as a heredoc start: `^(\d*)<<(-?)\s*([^<]*)$`.
pub fn parse_heredoc(word: &str) -> Option<Heredoc> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (fd_text, rest) = word.split_at(digits);
    let rest = rest.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    // BuildKit's pattern allows white space before the name (`<<  EOF`).
    let rest = rest.trim_start_matches(['\t', '\n', '\x0c', '\r', ' ']);
    if rest.contains('<') || rest.is_empty() {
        return None;
    }
    let fd = if fd_text.is_empty() {
        0
    } else {
        fd_text.parse().unwrap_or(u64::MAX)
    };
    // A plain word is its own name, and nothing in it stops expansion.
    if !rest.contains(['\'', '"', '\\']) && !rest.chars().any(char::is_whitespace) {
        return Some(Heredoc {
            name: rest.to_string(),
            fd,
            expand: true,
            chomp,
            content: String::new(),
        });
    }
    let cooked = shell_words(
        rest,
        Mode {
            raw_quotes: false,
            raw_escapes: false,
        },
    )?;
    let [name] = cooked.as_slice() else {
        return None;
    };
    let raw = shell_words(
        rest,
        Mode {
            raw_quotes: true,
            raw_escapes: false,
        },
    )?;
    let quotes = |s: &str| s.matches(['\'', '"']).count();
    let expand = raw.len() == 1 && quotes(name) == quotes(&raw[0]);
    Some(Heredoc {
        name: name.clone(),
        fd,
        expand,
        chomp,
        content: String::new(),
    })
}

/// ASCII that is neither white space nor a quote or escape.
fn is_plain_ascii(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_whitespace() && b != 0x0b && !matches!(b, b'\'' | b'"' | b'\\')
}

/// The shell words of `line` as they are written, quotes and escapes kept,
/// so each is a slice of the line (what [`shell_words`] gives with both raw
/// modes on, without building strings); `None` on an unterminated quote.
fn raw_shell_words(line: &str) -> Option<Vec<&str>> {
    let bytes = line.as_bytes();
    let mut words = Vec::new();
    let mut start = None;
    let mut pos = 0;
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'\'' => {
                let close = memchr::memchr(b'\'', &bytes[pos + 1..])?;
                start.get_or_insert(pos);
                pos += close + 2;
            }
            b'"' => {
                start.get_or_insert(pos);
                pos += 1;
                loop {
                    match bytes.get(pos)? {
                        b'"' => break,
                        b'\\' if bytes.get(pos + 1).is_none() => return None,
                        b'\\' if matches!(bytes[pos + 1], b'"' | b'$' | b'\\') => pos += 2,
                        _ => pos += 1,
                    }
                }
                pos += 1;
            }
            b'\\' => {
                start.get_or_insert(pos);
                pos += 1;
                match line.get(pos..).and_then(|rest| rest.chars().next()) {
                    Some(next) => pos += next.len_utf8(),
                    None => break,
                }
            }
            // A run of plain ASCII belongs to the word: step over it at once.
            _ if is_plain_ascii(b) => {
                start.get_or_insert(pos);
                let end = pos
                    + bytes[pos..]
                        .iter()
                        .position(|&b| !is_plain_ascii(b))
                        .unwrap_or(bytes.len() - pos);
                pos = end + heredoc_gap(&bytes[pos..end], &bytes[end..]);
            }
            _ => {
                let ch = line.get(pos..).and_then(|rest| rest.chars().next())?;
                if ch.is_whitespace() {
                    if let Some(at) = start.take() {
                        words.push(&line[at..pos]);
                    }
                } else {
                    start.get_or_insert(pos);
                }
                pos += ch.len_utf8();
            }
        }
    }
    if let Some(at) = start {
        words.push(&line[at..pos.min(line.len())]);
    }
    Some(words)
}

/// How many blanks after the unquoted, unescaped text `before` belong to
/// the word: BuildKit's lexer reads `<<` with the spaces, tabs and carriage
/// returns after it as one piece of a word (`<<  EOF` is the word
/// `<<  EOF`), taking the `<` of a run two by two, so only a run of even
/// length ends in such a `<<`. An escaped `<` is no part of a run.
fn heredoc_gap(before: &[u8], after: &[u8]) -> usize {
    let run = before.iter().rev().take_while(|&&b| b == b'<').count();
    if run == 0 || run % 2 != 0 {
        return 0;
    }
    after
        .iter()
        .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\r'))
        .count()
}

/// Whether `<<` occurs in `line` (a first `<` is rare, so look for that).
fn has_double_less_than(line: &str) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(at) = bytes
        .get(from..)
        .and_then(|rest| memchr::memchr(b'<', rest))
    {
        if bytes.get(from + at + 1) == Some(&b'<') {
            return true;
        }
        from += at + 1;
    }
    false
}

/// Every heredoc started on `line`, in order.
pub fn heredocs_in_line(line: &str) -> Vec<Heredoc> {
    if !has_double_less_than(line) {
        return Vec::new();
    }
    raw_shell_words(line)
        .unwrap_or_default()
        .into_iter()
        .filter(|w| w.contains("<<"))
        .filter_map(parse_heredoc)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_heredocs() {
        let docs = heredocs_in_line("RUN 3<<IN1 cat <<-\"EOT\" > /f");
        assert_eq!(docs.len(), 2);
        assert_eq!(
            (docs[0].name.as_str(), docs[0].fd, docs[0].expand),
            ("IN1", 3, true)
        );
        assert_eq!(
            (docs[1].name.as_str(), docs[1].chomp, docs[1].expand),
            ("EOT", true, false)
        );
        assert!(heredocs_in_line("RUN echo '<<EOF'").is_empty());
        assert!(heredocs_in_line("RUN a <<").is_empty());
    }

    #[test]
    fn blanks_after_the_opener_belong_to_the_word() {
        let names = |line: &str| -> Vec<String> {
            heredocs_in_line(line).into_iter().map(|h| h.name).collect()
        };
        assert_eq!(names("RUN <<  EOF"), ["EOF"]);
        assert_eq!(names("RUN <<\t EOF  > foo"), ["EOF"]);
        assert_eq!(names("RUN << -EOF"), ["-EOF"]);
        assert_eq!(names("RUN 2<< EOF"), ["EOF"]);
        // `<<-` ends the blanks' run: `<<-` and `EOF` are two words.
        assert!(names("RUN <<- EOF").is_empty());
        // An odd run of `<` pairs from the left: the last one stands alone.
        assert!(names("RUN <<< EOF").is_empty());
        assert_eq!(names("RUN cat <<<< EOF"), Vec::<String>::new());
    }

    #[test]
    fn raw_words_are_the_slices_shell_words_builds() {
        let raw = Mode {
            raw_quotes: true,
            raw_escapes: true,
        };
        for line in [
            "RUN 3<<IN1 cat <<-\"EOT\" > /f",
            "RUN a\\ b 'c d' \"e \\\" f\" g\\",
            "RUN \"x\\y\" 'it''s' é\u{a0}ü <<E",
            "RUN <<  EOF  > foo <<<\tX 'a'<< \rB \\<< C",
            "RUN \"open",
            "RUN 'open",
            "RUN \"a\\",
            "  spaced   out  ",
            "",
        ] {
            let built = shell_words(line, raw);
            let sliced = raw_shell_words(line)
                .map(|words| words.into_iter().map(str::to_string).collect::<Vec<_>>());
            assert_eq!(sliced, built, "{line:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn raw_words_match_shell_words_on_any_line(line in "[ a<\t\u{b}\u{c}\r\n\"'\\\\$é\u{a0}\u{85}-]{0,20}") {
            let raw = Mode {
                raw_quotes: true,
                raw_escapes: true,
            };
            let sliced = raw_shell_words(&line)
                .map(|words| words.into_iter().map(str::to_string).collect::<Vec<_>>());
            proptest::prop_assert_eq!(sliced, shell_words(&line, raw));
        }
    }
}
