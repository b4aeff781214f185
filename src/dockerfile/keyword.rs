//! Instruction keywords: which of BuildKit's instructions a line starts
//! with, matched without case as BuildKit does. Every line is matched, so
//! the one keyword a word can be is looked up by a hash of its length and
//! first two letters, then compared a few bytes at a time, without
//! lower-casing a copy.

use std::borrow::Cow;

/// An instruction BuildKit knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

/// Every instruction keyword BuildKit knows, lower-cased, in the order of
/// [`Keyword`]'s variants.
pub const KEYWORDS: &[&str] = &[
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

impl Keyword {
    /// The keyword lower-cased.
    pub fn as_str(self) -> &'static str {
        KEYWORDS[self as usize]
    }

    /// The instruction `word` names, in any case; `None` for a word that
    /// is no instruction.
    #[inline]
    pub fn of(word: &str) -> Option<Keyword> {
        if let Some(keyword) = candidate(word.as_bytes())
            && letters_match(word.as_bytes(), keyword.as_str().as_bytes())
        {
            return Some(keyword);
        }
        if word.is_ascii() {
            return None;
        }
        Self::of_non_ascii(word)
    }

    /// Non-ASCII letters may lower-case to ASCII ones (the Kelvin sign is `k`).
    #[cold]
    fn of_non_ascii(word: &str) -> Option<Keyword> {
        let lower = word.to_lowercase();
        let at = KEYWORDS.iter().position(|k| *k == lower)?;
        ALL.get(at).copied()
    }

    /// Whether heredoc bodies may follow the instruction's line.
    pub fn takes_heredocs(self) -> bool {
        matches!(self, Keyword::Run | Keyword::Copy | Keyword::Add)
    }
}

/// The variants in order, so that a position in [`KEYWORDS`] names one.
const ALL: [Keyword; 18] = [
    Keyword::Add,
    Keyword::Arg,
    Keyword::Cmd,
    Keyword::Copy,
    Keyword::Entrypoint,
    Keyword::Env,
    Keyword::Expose,
    Keyword::From,
    Keyword::Healthcheck,
    Keyword::Label,
    Keyword::Maintainer,
    Keyword::Onbuild,
    Keyword::Run,
    Keyword::Shell,
    Keyword::Stopsignal,
    Keyword::User,
    Keyword::Volume,
    Keyword::Workdir,
];

/// A word lower-cased as Go's `strings.ToLower` does; a keyword is given
/// without allocating.
pub fn lower_keyword(word: &str) -> Cow<'static, str> {
    match Keyword::of(word) {
        Some(keyword) => Cow::Borrowed(keyword.as_str()),
        None if word.is_ascii() => Cow::Owned(word.to_ascii_lowercase()),
        None => Cow::Owned(word.to_lowercase()),
    }
}

/// The only keyword `bytes` can be: the one with the same [`hash`], if any.
fn candidate(bytes: &[u8]) -> Option<Keyword> {
    let letter = |i: usize| bytes.get(i).copied().unwrap_or(0);
    BY_HASH[hash(letter(0), letter(1), bytes.len())]
}

/// A hash of a word's length and first two letters, in either case, under
/// which no two keywords fall together (building [`BY_HASH`] checks it).
const fn hash(first: u8, second: u8, len: usize) -> usize {
    ((first | 0x20) ^ (second | 0x20) ^ ((len as u8) << 3)) as usize & 63
}

/// Each keyword at its [`hash`].
static BY_HASH: [Option<Keyword>; 64] = {
    let mut table = [None; 64];
    let mut i = 0;
    while i < ALL.len() {
        let k = KEYWORDS[i].as_bytes();
        let at = hash(k[0], k[1], k.len());
        assert!(table[at].is_none(), "two keywords share a hash");
        table[at] = Some(ALL[i]);
        i += 1;
    }
    table
};

/// Whether `word` spells `keyword` (lower-case letters, 3 to 16 of them)
/// in any case. A byte is a given lower-case letter in either case exactly
/// when setting its 0x20 bit gives that letter, so the bytes are compared
/// as two overlapping words with that bit set, not one by one.
fn letters_match(word: &[u8], keyword: &[u8]) -> bool {
    let n = keyword.len();
    if word.len() != n {
        return false;
    }
    if n >= 8 {
        let at = n - 8;
        let fold = u64::from_ne_bytes([0x20; 8]);
        return (word_at::<8>(word, 0) | fold) == word_at::<8>(keyword, 0)
            && (word_at::<8>(word, at) | fold) == word_at::<8>(keyword, at);
    }
    if n >= 4 {
        let at = n - 4;
        let fold = u64::from(u32::from_ne_bytes([0x20; 4]));
        return (word_at::<4>(word, 0) | fold) == word_at::<4>(keyword, 0)
            && (word_at::<4>(word, at) | fold) == word_at::<4>(keyword, at);
    }
    word.iter().zip(keyword).all(|(b, k)| (b | 0x20) == *k)
}

/// The `N` bytes at `at` as one number (0 past the end).
fn word_at<const N: usize>(bytes: &[u8], at: usize) -> u64 {
    let mut buffer = [0u8; 8];
    if let Some(chunk) = bytes.get(at..at + N) {
        buffer[..N].copy_from_slice(chunk);
    }
    u64::from_ne_bytes(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variants_follow_the_list() {
        assert_eq!(ALL.len(), KEYWORDS.len());
        for (keyword, text) in ALL.iter().zip(KEYWORDS) {
            assert_eq!(keyword.as_str(), *text);
        }
    }

    #[test]
    fn every_keyword_is_its_own_candidate() {
        for k in KEYWORDS {
            assert_eq!(candidate(k.as_bytes()).map(Keyword::as_str), Some(*k));
            assert_eq!(
                candidate(k.to_uppercase().as_bytes()).map(Keyword::as_str),
                Some(*k)
            );
        }
        // Any other word is no keyword, whatever its hash finds.
        for len in 0..13 {
            for first in b'a'..=b'z' {
                for second in [b'd', b'r', b'x', b'N'] {
                    let mut word = vec![b'x'; len];
                    if let Some(b) = word.get_mut(0) {
                        *b = first;
                    }
                    if let Some(b) = word.get_mut(1) {
                        *b = second;
                    }
                    let word = String::from_utf8(word).unwrap_or_default();
                    let known = KEYWORDS.iter().position(|k| k.eq_ignore_ascii_case(&word));
                    assert_eq!(Keyword::of(&word), known.map(|at| ALL[at]), "{word}");
                }
            }
        }
    }

    #[test]
    fn keywords_match_in_any_case_and_nothing_else() {
        for k in KEYWORDS {
            assert_eq!(lower_keyword(&k.to_uppercase()), *k);
            assert_eq!(lower_keyword(&k[..1].to_uppercase()), k[..1]);
            // One letter changed anywhere, including where the two
            // compared words overlap, is another word.
            for at in 0..k.len() {
                let mut other = k.as_bytes().to_vec();
                other[at] = b'q' + u8::from(other[at] == b'q');
                let other = String::from_utf8(other).unwrap_or_default();
                assert_eq!(Keyword::of(&other), None, "{other}");
                let mut shifted = k.as_bytes().to_vec();
                // `@` is `` ` `` with the 0x20 bit set; neither is a letter.
                shifted[at] = b'@';
                assert_eq!(Keyword::of(&String::from_utf8_lossy(&shifted)), None);
            }
        }
        assert_eq!(lower_keyword("RuN"), "run");
        assert_eq!(lower_keyword("RUNS"), "runs");
        assert_eq!(lower_keyword("ARD"), "ard");
        assert_eq!(lower_keyword("WOR\u{212a}DIR"), "workdir");
        assert_eq!(Keyword::of("WOR\u{212a}DIR"), Some(Keyword::Workdir));
        assert_eq!(lower_keyword("É"), "é");
        assert!(matches!(lower_keyword("Copy"), Cow::Borrowed("copy")));
    }
}
