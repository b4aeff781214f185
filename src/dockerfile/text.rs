//! Trimming as `str::trim*` does, without decoding characters while the
//! bytes are ASCII: the parser trims every line several times.

/// `char::is_whitespace` for an ASCII byte.
fn ascii_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether `b` surely needs no trimming: printable ASCII, told with one
/// comparison. Other bytes take the slower path, which decides exactly.
#[inline]
fn solid(b: Option<&u8>) -> bool {
    b.is_some_and(|&b| b.wrapping_sub(0x21) < 0x5f)
}

/// `s.trim_start()`.
#[inline]
pub fn trim_start(s: &str) -> &str {
    if solid(s.as_bytes().first()) {
        return s;
    }
    trim_start_slowly(s)
}

#[inline(never)]
fn trim_start_slowly(s: &str) -> &str {
    let skip = s
        .bytes()
        .position(|b| !ascii_whitespace(b))
        .unwrap_or(s.len());
    let rest = &s[skip..];
    if rest.as_bytes().first().is_some_and(|b| !b.is_ascii()) {
        rest.trim_start()
    } else {
        rest
    }
}

/// `s.trim_end()`.
#[inline]
pub fn trim_end(s: &str) -> &str {
    if solid(s.as_bytes().last()) {
        return s;
    }
    trim_end_slowly(s)
}

#[inline(never)]
fn trim_end_slowly(s: &str) -> &str {
    let keep = s
        .bytes()
        .rposition(|b| !ascii_whitespace(b))
        .map_or(0, |at| at + 1);
    let rest = &s[..keep];
    if rest.as_bytes().last().is_some_and(|b| !b.is_ascii()) {
        rest.trim_end()
    } else {
        rest
    }
}

/// `s.trim()`.
#[inline]
pub fn trim(s: &str) -> &str {
    trim_end(trim_start(s))
}

/// `s.trim_start_matches(f)` for a set of ASCII bytes.
pub fn trim_start_bytes(s: &str, f: impl Fn(u8) -> bool) -> &str {
    let skip = s.bytes().position(|b| !f(b)).unwrap_or(s.len());
    // `f` only matches ASCII, so the cut is on a character boundary.
    &s[skip..]
}

/// `s.trim_end_matches(f)` for a set of ASCII bytes.
pub fn trim_end_bytes(s: &str, f: impl Fn(u8) -> bool) -> &str {
    let keep = s.bytes().rposition(|b| !f(b)).map_or(0, |at| at + 1);
    &s[..keep]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_like_std() {
        for s in [
            "",
            " ",
            "a",
            " a ",
            "\u{b}\t a b \r\n",
            "\u{a0} x\u{2003}",
            "\u{3000}",
            "é ",
            " \u{85}",
            "x\u{c}",
            "\u{1f}x\u{7f}",
            "\u{7f} \u{0}",
            "~!",
        ] {
            assert_eq!(trim_start(s), s.trim_start(), "{s:?}");
            assert_eq!(trim_end(s), s.trim_end(), "{s:?}");
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
        let newline = |b| b == b'\r' || b == b'\n';
        assert_eq!(trim_end_bytes("a\r\n\r", newline), "a");
        assert_eq!(trim_start_bytes("\n\nb\n", newline), "b\n");
    }
}
