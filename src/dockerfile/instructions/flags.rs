//! Instruction flags (`--from=build`, `--link`, repeated `--mount=…`),
//! checked like BuildKit's `BFlags`.

use crate::diagnostics::did_you_mean;

/// One flag as written: `--name` or `--name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

impl Flag {
    pub fn bare(name: &str) -> Self {
        Self {
            name: name.to_string(),
            value: None,
        }
    }

    pub fn with_value(name: &str, value: &str) -> Self {
        Self {
            name: name.to_string(),
            value: Some(value.to_string()),
        }
    }

    /// Reads `--name[=value]` as the parser split it.
    pub fn from_text(text: &str) -> Self {
        let body = text.strip_prefix("--").unwrap_or(text);
        match body.split_once('=') {
            Some((name, value)) => Self::with_value(name, value),
            None => Self::bare(body),
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

/// Flag values after checking, looked up by name.
#[derive(Debug, Default)]
pub struct FlagValues {
    values: Vec<(&'static str, Vec<String>)>,
}

impl FlagValues {
    pub fn string(&self, name: &str) -> Option<String> {
        self.all(name).last().cloned()
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        self.all(name).to_vec()
    }

    pub fn bool(&self, name: &str) -> bool {
        self.all(name).last().is_some_and(|v| v == "true")
    }

    pub fn optional_bool(&self, name: &str) -> Option<bool> {
        self.all(name).last().map(|v| v == "true")
    }

    fn all(&self, name: &str) -> &[String] {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, v)| v.as_slice())
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
pub fn check_flags(flags: &[Flag], specs: &[FlagSpec]) -> Result<FlagValues, FlagError> {
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
        let slot = match values.values.iter().position(|(n, _)| *n == spec.name) {
            Some(i) if spec.kind != FlagKind::Strings => {
                let _ = i;
                return Err(error(
                    super::super::codes::INVALID_FLAG,
                    format!("duplicate flag specified: {}", flag.name),
                ));
            }
            Some(i) => i,
            None => {
                values.values.push((spec.name, Vec::new()));
                values.values.len() - 1
            }
        };
        let value = match (spec.kind, &flag.value) {
            (FlagKind::Bool, None) => "true".to_string(),
            (FlagKind::Bool, Some(v)) if v.is_empty() => {
                return Err(error(
                    super::super::codes::INVALID_FLAG,
                    format!("missing a value on flag: {}", flag.name),
                ));
            }
            (FlagKind::Bool, Some(v)) => match v.to_lowercase().as_str() {
                l @ ("true" | "false") => l.to_string(),
                _ => {
                    return Err(error(
                        super::super::codes::INVALID_FLAG,
                        format!("expecting boolean value for flag {}, not: {v}", flag.name),
                    ));
                }
            },
            (_, None) => {
                return Err(error(
                    super::super::codes::INVALID_FLAG,
                    format!("missing a value on flag: {}", flag.name),
                ));
            }
            (_, Some(v)) => v.clone(),
        };
        values.values[slot].1.push(value);
    }
    Ok(values)
}
