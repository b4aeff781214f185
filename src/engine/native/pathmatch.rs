//! Go's `filepath.Match` on `/`-separated paths: `*` (any run without `/`),
//! `?` (one character but `/`), `[...]` classes with ranges and `^`
//! negation, `\` quoting the next character. COPY/ADD wildcards use it.
//!
//! Pure string code; takes only `has_wildcard` from the checker, so both
//! tell a wildcard from a literal path the same way.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern {0:?}")]
pub struct BadPattern(pub String);

/// Whether `name` matches `pattern` entirely.
pub fn path_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let bad = || BadPattern(pattern.iter().collect());
    validate(&pattern).map_err(|_| bad())?;
    Ok(match_from(&pattern, &name))
}

/// Whether the pattern contains a wildcard at all.
pub use crate::check::backend_native::has_wildcard;

fn validate(pattern: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            '\\' => {
                if i + 1 >= pattern.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                let (_, next) = class_end(pattern, i)?;
                i = next;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Index after the `]` closing the class opened at `start`, and the class body.
fn class_end(pattern: &[char], start: usize) -> Result<(usize, usize), ()> {
    let mut i = start + 1;
    if pattern.get(i) == Some(&'^') {
        i += 1;
    }
    let body_start = i;
    let mut first = true;
    loop {
        match pattern.get(i) {
            None => return Err(()),
            Some(']') if !first => return Ok((body_start, i + 1)),
            Some(']') => return Err(()),
            Some('-') if first => return Err(()),
            Some('\\') => {
                if pattern.get(i + 1).is_none() {
                    return Err(());
                }
                i += 2;
            }
            Some(_) => i += 1,
        }
        if pattern.get(i) == Some(&'-') && pattern.get(i + 1).is_some_and(|c| *c != ']') {
            i += 1;
            match pattern.get(i) {
                Some('\\') => i += 2,
                Some(_) => i += 1,
                None => return Err(()),
            }
        }
        first = false;
    }
}

fn class_matches(pattern: &[char], start: usize, ch: char) -> (bool, usize) {
    let negated = pattern.get(start + 1) == Some(&'^');
    let Ok((body_start, end)) = class_end(pattern, start) else {
        return (false, pattern.len());
    };
    let mut i = body_start;
    let mut matched = false;
    while i < end - 1 {
        let (lo, next) = literal_at(pattern, i);
        i = next;
        let mut hi = lo;
        if pattern.get(i) == Some(&'-') && i + 1 < end - 1 {
            let (h, next) = literal_at(pattern, i + 1);
            hi = h;
            i = next;
        }
        if lo <= ch && ch <= hi {
            matched = true;
        }
    }
    (matched != negated, end)
}

fn literal_at(pattern: &[char], i: usize) -> (char, usize) {
    match pattern[i] {
        '\\' => (pattern.get(i + 1).copied().unwrap_or('\\'), i + 2),
        ch => (ch, i + 1),
    }
}

fn match_from(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            match pattern[p] {
                '*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                '?' if n < name.len() && name[n] != '/' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                '[' if n < name.len() && name[n] != '/' => {
                    let (ok, end) = class_matches(pattern, p, name[n]);
                    if ok {
                        p = end;
                        n += 1;
                        continue;
                    }
                }
                '\\' if n < name.len() && pattern.get(p + 1) == Some(&name[n]) => {
                    p += 2;
                    n += 1;
                    continue;
                }
                ch if ch != '?' && ch != '[' && ch != '\\' && n < name.len() && name[n] == ch => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        } else if n == name.len() {
            return true;
        }
        // Backtrack: let the last `*` take one more character (never a `/`).
        match star {
            Some((sp, sn)) if sn < name.len() && name[sn] != '/' => {
                star = Some((sp, sn + 1));
                p = sp + 1;
                n = sn + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_go_filepath_match() {
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("*.txt", "notes.txt", true),
            ("*.txt", "dir/notes.txt", false),
            ("*/*.txt", "dir/notes.txt", true),
            ("a?", "a/", false),
            ("*x", "xxx", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(
                path_match(pattern, name),
                Ok(*expected),
                "{pattern} ~ {name}"
            );
        }
    }

    #[test]
    fn rejects_malformed_patterns() {
        for pattern in ["[", "[^", "[]a]", "[-]", "a\\", "[x-", "[a-b"] {
            assert!(path_match(pattern, "a").is_err(), "{pattern}");
        }
    }

    #[test]
    fn finds_wildcards() {
        assert!(has_wildcard("src/*.rs"));
        assert!(has_wildcard("a?"));
        assert!(has_wildcard("[ab]"));
        assert!(!has_wildcard("plain/path"));
        assert!(!has_wildcard("a\\*b"));
    }
}
