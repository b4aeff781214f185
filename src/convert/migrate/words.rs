//! The script's variables and the expansion of words in script order:
//! what a variable holds when a command runs (a literal the script
//! assigned, something only known at run time, or nothing: the caller's
//! environment).

use std::collections::HashMap;

use super::shell::{Part, Word};
use crate::located::Span;

/// What a variable holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Known(String),
    /// Assigned from a command substitution: known only when the script runs.
    Dynamic,
}

/// A word after expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The value; variables that are not set are kept as `${NAME}`.
    pub text: String,
    pub span: Span,
    /// Variables that are not set (they come from the caller's environment).
    pub unset: Vec<String>,
    /// A command substitution or a variable assigned from one is part of it.
    pub dynamic: bool,
}

impl Arg {
    /// Nothing in the value depends on the run.
    pub fn is_static(&self) -> bool {
        !self.dynamic && self.unset.is_empty()
    }
}

/// The variables set so far (shell and make).
#[derive(Debug, Clone, Default)]
pub struct Env {
    shell: HashMap<String, Value>,
    make: HashMap<String, String>,
}

impl Env {
    pub fn set(&mut self, name: &str, value: Value) {
        self.shell.insert(name.to_owned(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.shell.get(name)
    }

    pub fn set_make(&mut self, name: &str, value: String) {
        self.make.insert(name.to_owned(), value);
    }

    pub fn expand(&self, word: &Word) -> Arg {
        let mut arg = Arg {
            text: String::new(),
            span: word.span,
            unset: Vec::new(),
            dynamic: false,
        };
        for part in &word.parts {
            match part {
                Part::Lit(text) => arg.text.push_str(text),
                Part::Subst { text, .. } => {
                    arg.dynamic = true;
                    arg.text.push_str("$(");
                    arg.text.push_str(text);
                    arg.text.push(')');
                }
                Part::Var {
                    name,
                    default,
                    make: true,
                } => match self.make.get(name) {
                    Some(value) => arg.text.push_str(value),
                    None => self.unset_var(&mut arg, name, default.as_deref()),
                },
                Part::Var {
                    name,
                    default,
                    make: false,
                } => match self.shell.get(name) {
                    Some(Value::Known(value)) => arg.text.push_str(value),
                    Some(Value::Dynamic) => {
                        arg.dynamic = true;
                        arg.text.push_str(&format!("${{{name}}}"));
                    }
                    None => self.unset_var(&mut arg, name, default.as_deref()),
                },
            }
        }
        arg
    }

    fn unset_var(&self, arg: &mut Arg, name: &str, default: Option<&str>) {
        match default {
            Some(value) => arg.text.push_str(value),
            None => {
                arg.unset.push(name.to_owned());
                arg.text.push_str(&format!("${{{name}}}"));
            }
        }
    }
}

/// `NAME=value` at the start of a command: the name and the value's word parts.
pub fn assignment(word: &Word) -> Option<(String, Word)> {
    let Some(Part::Lit(first)) = word.parts.first() else {
        return None;
    };
    let eq = first.find('=')?;
    let name = &first[..eq];
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return None;
    }
    let mut parts = Vec::with_capacity(word.parts.len());
    let rest = &first[eq + 1..];
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_owned()));
    }
    parts.extend(word.parts[1..].iter().cloned());
    if parts.is_empty() {
        parts.push(Part::Lit(String::new()));
    }
    let value_start = word.span.start + name.len() + 1;
    Some((
        name.to_owned(),
        Word {
            parts,
            span: Span::new(value_start.min(word.span.end), word.span.end),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::migrate::shell::{Dialect, lex};

    fn first_word(text: &str, index: usize) -> Word {
        lex(text, Span::new(0, text.len()), Dialect::default())[0].commands[0].words[index].clone()
    }

    #[test]
    fn expands_known_unset_and_dynamic() {
        let mut env = Env::default();
        env.set("TAG", Value::Known("1.0".into()));
        env.set("HOST", Value::Dynamic);
        let arg = env.expand(&first_word("x app:$TAG-$HOST-${ARCH:-amd64}-$HOME", 1));
        assert_eq!(arg.text, "app:1.0-${HOST}-amd64-${HOME}");
        assert!(arg.dynamic);
        assert_eq!(arg.unset, ["HOME"]);
    }

    #[test]
    fn reads_assignments() {
        let word = first_word("IMAGE=\"app:$V\"", 0);
        let (name, value) = assignment(&word).expect("an assignment");
        assert_eq!(name, "IMAGE");
        let mut env = Env::default();
        env.set("V", Value::Known("2".into()));
        assert_eq!(env.expand(&value).text, "app:2");
        assert!(assignment(&first_word("--build-arg=x", 0)).is_none());
    }
}
