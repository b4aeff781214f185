//! Instruction flags (`--from=build`, `--link`, repeated `--mount=…`),
//! checked like BuildKit's `BFlags`.

use std::borrow::Cow;

use smallvec::SmallVec;

use crate::diagnostics::did_you_mean;
use crate::dockerfile::syntax::piece;

/// Where the ASCII byte `b` first is in `text`. Flags and mount fields are
/// short, and a plain loop over them is cheaper than a character search.
pub fn byte_at(text: &str, b: u8) -> Option<usize> {
    text.bytes().position(|c| c == b)
}

/// An instruction's flags: mostly none or one, so one is kept inline.
pub type FlagList<'a> = SmallVec<[Flag<'a>; 1]>;

/// One flag as written: `--name` or `--name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag<'a> {
    pub name: Cow<'a, str>,
    pub value: Option<Cow<'a, str>>,
}

impl<'a> Flag<'a> {
    pub fn bare(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            value: None,
        }
    }

    pub fn with_value(name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// Reads `--name[=value]` as the parser split it; a flag that is a
    /// slice of the file gives slices of it.
    pub fn from_text(text: &Cow<'a, str>) -> Self {
        let body_at = if text.starts_with("--") { 2 } else { 0 };
        match byte_at(&text[body_at..], b'=') {
            Some(at) => Self {
                name: piece(text, body_at..body_at + at),
                value: Some(piece(text, body_at + at + 1..text.len())),
            },
            None => Self::bare(piece(text, body_at..text.len())),
        }
    }

    /// `--name` or `--name=value`.
    pub fn to_text(&self) -> String {
        match &self.value {
            Some(v) => format!("--{}={v}", self.name),
            None => format!("--{}", self.name),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--from=x`, at most once.
    String,
    /// `--mount=…`, any number of times.
    Strings,
}

/// A flag an instruction accepts.
#[derive(Debug, Clone, Copy)]
pub struct FlagSpec {
    pub name: &'static str,
    pub kind: FlagKind,
}

/// Flag values after checking, looked up by name. They are the flags' own
/// text: a value that is a slice of the file stays one.
#[derive(Debug, Default)]
pub struct FlagValues<'a> {
    /// Every value in the order written, with the name it was given for.
    /// Instructions rarely carry more than two flags.
    values: SmallVec<[(&'static str, Cow<'a, str>); 2]>,
}

impl<'a> FlagValues<'a> {
    pub fn string(&self, name: &str) -> Option<Cow<'a, str>> {
        self.last(name).cloned()
    }

    pub fn strings(&self, name: &str) -> Vec<Cow<'a, str>> {
        self.each(name).cloned().collect()
    }

    /// The values given for `name`, in order, without collecting them.
    pub fn each<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Cow<'a, str>> {
        self.values
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.last(name).is_some_and(|v| v == "true")
    }

    pub fn optional_bool(&self, name: &str) -> Option<bool> {
        self.last(name).map(|v| v == "true")
    }

    fn last(&self, name: &str) -> Option<&Cow<'a, str>> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

/// A flag problem: the message and which flag (index into the flags).
#[derive(Debug)]
pub struct FlagError {
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
    pub index: usize,
}

/// Checks `flags` against what the instruction accepts.
pub fn check_flags<'a>(
    flags: &[Flag<'a>],
    specs: &[FlagSpec],
) -> Result<FlagValues<'a>, FlagError> {
    let mut values = FlagValues::default();
    for (index, flag) in flags.iter().enumerate() {
        let error = |code, message: String| FlagError {
            code,
            message,
            help: None,
            index,
        };
        let Some(spec) = specs.iter().find(|s| s.name == flag.name) else {
            let suggestion = did_you_mean(&flag.name, specs.iter().map(|s| s.name));
            let mut message = format!("unknown flag: --{}", flag.name);
            if let Some(s) = suggestion {
                message.push_str(&format!(" (did you mean {s}?)"));
            }
            let help = if specs.is_empty() {
                "this instruction takes no flags".to_string()
            } else {
                let names: Vec<String> = specs.iter().map(|s| format!("--{}", s.name)).collect();
                format!("accepted flags: {}", names.join(", "))
            };
            return Err(FlagError {
                help: Some(help),
                ..error(super::super::codes::UNKNOWN_FLAG, message)
            });
        };
        let repeated = values.values.iter().any(|(n, _)| *n == spec.name);
        if repeated && spec.kind != FlagKind::Strings {
            return Err(error(
                super::super::codes::INVALID_FLAG,
                format!("duplicate flag specified: {}", flag.name),
            ));
        }
        let value = match (spec.kind, &flag.value) {
            (FlagKind::Bool, None) => Cow::Borrowed("true"),
            (FlagKind::Bool, Some(v)) if v.is_empty() => {
                return Err(error(
                    super::super::codes::INVALID_FLAG,
                    format!("missing a value on flag: {}", flag.name),
                ));
            }
            // BuildKit lower-cases the value first; no other letter lower-cases
            // to one of `true` or `false`, so an ASCII comparison is the same.
            (FlagKind::Bool, Some(v)) if v.eq_ignore_ascii_case("true") => Cow::Borrowed("true"),
            (FlagKind::Bool, Some(v)) if v.eq_ignore_ascii_case("false") => Cow::Borrowed("false"),
            (FlagKind::Bool, Some(v)) => {
                return Err(error(
                    super::super::codes::INVALID_FLAG,
                    format!("expecting boolean value for flag {}, not: {v}", flag.name),
                ));
            }
            (_, None) => {
                return Err(error(
                    super::super::codes::INVALID_FLAG,
                    format!("missing a value on flag: {}", flag.name),
                ));
            }
            (_, Some(v)) => v.clone(),
        };
        values.values.push((spec.name, value));
    }
    Ok(values)
}
