//! Splitting a logical line into keyword, flags and the rest, as BuildKit's
//! `splitCommand` / `extractBuilderFlags` do.

use std::borrow::Cow;

use super::syntax::{Args, Flags};
use super::text;

/// Go's `unicode.IsSpace` on a single byte read as a Latin-1 rune, which is
/// how BuildKit scans flags and HEALTHCHECK.
#[inline]
pub fn byte_is_space(b: u8) -> bool {
    CLASSES[usize::from(b)] & SPACE != 0
}

const SPACE: u8 = 1;
const SEPARATOR: u8 = 2;
/// Ends the plain run of a flag word: a blank, a quote, an escape, non-ASCII.
const FLAG_STOP: u8 = 4;

/// What each byte is to the scanners here, looked up rather than compared.
static CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let space = matches!(
            byte,
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0
        );
        let separator = matches!(byte, b'\t' | 0x0b | 0x0c | b'\r' | b' ');
        let flag_stop = space || !byte.is_ascii() || matches!(byte, b'\\' | b'\'' | b'"');
        classes[b] = ((space as u8) * SPACE)
            | ((separator as u8) * SEPARATOR)
            | ((flag_stop as u8) * FLAG_STOP);
        b += 1;
    }
    classes
};

/// BuildKit's `reWhitespace`: `[\t\v\f\r ]`.
#[inline]
pub fn byte_is_separator(b: u8) -> bool {
    CLASSES[usize::from(b)] & SEPARATOR != 0
}

/// BuildKit reads flags byte by byte, turning each byte of a UTF-8
/// character into its own Latin-1 character; this puts the bytes back, so
/// that `--chown=café` reads as `café` again rather than `cafÃ©`. Text that
/// cannot have been read that way is given back unchanged.
pub fn original_bytes(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || text.chars().any(|c| u32::from(c) > 0xff) {
        return Cow::Borrowed(text);
    }
    let bytes: Vec<u8> = text.chars().map(|c| u32::from(c) as u8).collect();
    match String::from_utf8(bytes) {
        Ok(restored) => Cow::Owned(restored),
        Err(_) => Cow::Borrowed(text),
    }
}

/// [`original_bytes`] for a flag word as a whole, which may end inside a
/// character: BuildKit ends a flag at any byte it reads as a Latin-1 blank,
/// and the bytes 0x85 and 0xA0 are that, yet are also the last byte of
/// characters such as `\u{a0}` or `à` (`C3 A0`). The word then holds only
/// the first bytes of that character. The second part of the answer is the
/// character those bytes began: printed right after the word and outside any
/// quotes, it gives back both the word's last bytes and the byte that ends
/// the word, as the input had them.
pub fn original_flag_bytes(text: &str) -> (Cow<'_, str>, Option<char>) {
    if text.is_ascii() || text.chars().any(|c| u32::from(c) > 0xff) {
        return (Cow::Borrowed(text), None);
    }
    let bytes: Vec<u8> = text.chars().map(|c| u32::from(c) as u8).collect();
    let error = match std::str::from_utf8(&bytes) {
        Ok(restored) => return (Cow::Owned(restored.to_string()), None),
        Err(error) => error,
    };
    let (whole, cut) = bytes.split_at(error.valid_up_to());
    let cut_character = [0xa0, 0x85].iter().find_map(|&blank| {
        let mut character = cut.to_vec();
        character.push(blank);
        String::from_utf8(character)
            .ok()
            .and_then(|c| c.chars().next().filter(|_| c.chars().count() == 1))
    });
    match (error.error_len(), cut_character) {
        (None, Some(character)) => (
            Cow::Owned(String::from_utf8_lossy(whole).into_owned()),
            Some(character),
        ),
        _ => (Cow::Borrowed(text), None),
    }
}

/// Splits on runs of `[\t\v\f\r ]`, at most `limit` parts (0 = no limit).
pub fn split_separators(s: &str, limit: usize) -> Args<'_> {
    let mut parts = Args::new();
    split_separators_into(s, limit, &mut parts);
    parts
}

/// [`split_separators`] adding the parts to `parts`; `limit` counts only
/// the parts added.
pub fn split_separators_into<'a>(s: &'a str, limit: usize, parts: &mut Args<'a>) {
    // The separators are ASCII, so every cut falls on a character boundary.
    let bytes = s.as_bytes();
    let first = parts.len();
    let mut start = 0;
    loop {
        let at = next_separator(bytes, start);
        if at == bytes.len() || parts.len() - first + 1 == limit {
            break;
        }
        parts.push(Cow::Borrowed(&s[start..at]));
        start = at + 1;
        while start < bytes.len() && byte_is_separator(bytes[start]) {
            start += 1;
        }
    }
    parts.push(Cow::Borrowed(&s[start..]));
}

/// Where the first separator at or after `from` is, else the length.
/// Words are looked at eight bytes at a time: a byte-at-a-time loop costs
/// a step and a test per byte of every word.
fn next_separator(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([b'x'; 8]));
        // The lowest flagged byte is the first below 0x21; bytes above it
        // may be flagged wrongly by the borrow, so only it is trusted.
        let below = word.wrapping_sub(ONES * 0x21) & !word & HIGH;
        if below == 0 {
            at += 8;
            continue;
        }
        let first = at + (below.trailing_zeros() / 8) as usize;
        if byte_is_separator(bytes[first]) {
            return first;
        }
        at = first + 1;
    }
    bytes[at.min(bytes.len())..]
        .iter()
        .position(|&b| byte_is_separator(b))
        .map_or(bytes.len(), |p| at + p)
}

/// Keyword as written, flags, and the arguments text (trimmed).
pub fn split_command(line: &str) -> (&str, Flags<'_>, Cow<'_, str>) {
    let mut flags = Flags::new();
    let (keyword, args) = split_command_into(line, &mut flags);
    (keyword, flags, args)
}

/// [`split_command`] adding the flags to `flags`, which is how the parser
/// fills a node where it lies.
pub fn split_command_into<'a>(line: &'a str, flags: &mut Flags<'a>) -> (&'a str, Cow<'a, str>) {
    let trimmed = text::trim(line);
    // The keyword ends at the first separator, found a word at a time.
    let at = next_separator(trimmed.as_bytes(), 0);
    if at == trimmed.len() {
        return (trimmed, Cow::Borrowed(""));
    }
    let rest = text::trim_start_bytes(&trimmed[at..], byte_is_separator);
    let args = match extract_flags(rest, flags) {
        Cow::Borrowed(a) => Cow::Borrowed(text::trim(a)),
        Cow::Owned(a) => Cow::Owned(a.trim().to_string()),
    };
    (&trimmed[..at], args)
}

/// One flag word being read. It stays a slice of the line until a quote,
/// an escape or a non-ASCII byte makes its text differ from the line's.
struct FlagWord {
    start: usize,
    built: Option<String>,
}

impl FlagWord {
    fn new(start: usize) -> Self {
        Self { start, built: None }
    }

    /// Keeps the word apart from the line from `pos` on: its text is built.
    fn detach<'w>(&'w mut self, line: &[u8], pos: usize) -> &'w mut String {
        let start = self.start;
        self.built
            .get_or_insert_with(|| line[start..pos].iter().map(|&b| char::from(b)).collect())
    }

    /// Appends `b` at `pos`; a plain ASCII byte just widens the slice.
    fn push(&mut self, line: &[u8], pos: usize, b: u8) {
        match &mut self.built {
            Some(text) => text.push(char::from(b)),
            None if b.is_ascii() => {}
            None => self.detach(line, pos).push(char::from(b)),
        }
    }

    fn into_text(self, line: &str, end: usize) -> Cow<'_, str> {
        match self.built {
            Some(text) => Cow::Owned(text),
            None => Cow::Borrowed(&line[self.start..end]),
        }
    }
}

/// Leading `--words` are flags, added to `words`; a bare `--` ends them
/// and is dropped. Gives the text after them.
#[inline]
fn extract_flags<'a>(line: &'a str, words: &mut Flags<'a>) -> Cow<'a, str> {
    // Most lines have no flags: they are told at once, and the scanner
    // below stays out of line.
    let bytes = line.as_bytes();
    match bytes.first() {
        None => Cow::Borrowed(line),
        Some(&b) if b != b'-' && !byte_is_space(b) => Cow::Borrowed(line),
        Some(_) => read_flags(line, words),
    }
}

#[inline(never)]
fn read_flags<'a>(line: &'a str, words: &mut Flags<'a>) -> Cow<'a, str> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let bytes = line.as_bytes();
    let mut phase = Phase::Spaces;
    let mut word = FlagWord::new(0);
    // Where the unbuilt slice of the word ends.
    let mut end = 0;
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= bytes.len() {
        let ch = bytes.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == bytes.len() {
                break;
            }
            if byte_is_space(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || bytes.get(pos + 1) != Some(&b'-') {
                return lossy_from(line, pos);
            }
            phase = Phase::Word;
            word = FlagWord::new(pos);
            end = pos;
        }
        if pos == bytes.len() {
            let text = word.into_text(line, end);
            if text != "--" && (blank_ok || !text.is_empty()) {
                words.push(text);
            }
            break;
        }
        if phase == Phase::Word {
            if word.built.is_none() {
                // Plain ASCII only widens the slice: skip over it at once.
                let plain = bytes[pos..]
                    .iter()
                    .position(|&b| CLASSES[usize::from(b)] & FLAG_STOP != 0)
                    .unwrap_or(bytes.len() - pos);
                if plain > 0 {
                    pos += plain;
                    end = pos;
                    continue;
                }
            }
            if byte_is_space(ch) {
                phase = Phase::Spaces;
                let text = std::mem::replace(&mut word, FlagWord::new(pos)).into_text(line, end);
                if text == "--" {
                    return lossy_from(line, pos);
                }
                if blank_ok || !text.is_empty() {
                    words.push(text);
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\\' || ch == b'\'' || ch == b'"' {
                word.detach(bytes, end);
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
            }
            word.push(bytes, pos, bytes[pos]);
            pos += 1;
            end = pos;
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
        }
        word.push(bytes, pos, bytes[pos]);
        pos += 1;
    }
    Cow::Borrowed("")
}

/// `line[pos..]`, even when `pos` falls inside a character.
#[inline]
fn lossy_from(line: &str, pos: usize) -> Cow<'_, str> {
    match line.get(pos..) {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(String::from_utf8_lossy(&line.as_bytes()[pos..]).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::{split_command, split_separators};

    #[test]
    fn splits_on_separator_runs_up_to_a_limit() {
        let parts = |s, limit| split_separators(s, limit).into_vec();
        assert_eq!(parts("a \t b  c", 0), ["a", "b", "c"]);
        assert_eq!(parts("a  b c", 2), ["a", "b c"]);
        assert_eq!(parts("a b", 1), ["a b"]);
        assert_eq!(parts(" a ", 0), ["", "a", ""]);
        assert_eq!(parts("", 0), [""]);
        assert_eq!(parts("a\nb", 0), ["a\nb"]);
        assert_eq!(
            parts("abcdefghij\u{b}k\x00\x1f\nlmnopqrs\ttuvwxyz é", 0),
            ["abcdefghij", "k\x00\x1f\nlmnopqrs", "tuvwxyz", "é"]
        );
    }

    /// The splitter written plainly, to check the word-at-a-time one.
    fn reference(s: &str, limit: usize) -> Vec<String> {
        let sep = |c: char| matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ');
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(at) = rest.find(sep) {
            if parts.len() + 1 == limit {
                break;
            }
            parts.push(rest[..at].to_string());
            rest = rest[at..].trim_start_matches(sep);
        }
        parts.push(rest.to_string());
        parts
    }

    proptest::proptest! {
        #[test]
        fn separator_splitting_agrees_with_the_plain_version(
            s in "[ \t\u{b}\u{c}\r\n\u{0}\u{1f}!a-z0-9é\u{85}\u{a0}]{0,40}",
            limit in 0usize..4,
        ) {
            let ours: Vec<String> = split_separators(&s, limit).iter().map(|p| p.to_string()).collect();
            proptest::prop_assert_eq!(ours, reference(&s, limit));
        }
    }

    #[test]
    fn splits_flags() {
        let (k, f, a) = split_command("COPY --from=a --link -- --x y");
        assert_eq!(k, "COPY");
        assert_eq!(f.as_slice(), ["--from=a", "--link"]);
        assert_eq!(a, "--x y");
        let (_, f, a) = split_command("CMD --doit -- [ ]");
        assert_eq!(f.as_slice(), ["--doit"]);
        assert_eq!(a, "[ ]");
        let (_, f, a) = split_command("RUN --mount=\"type=cache,target=/a b\" make");
        assert_eq!(f.as_slice(), ["--mount=type=cache,target=/a b"]);
        assert_eq!(a, "make");
    }
}
