//! ARG and ENV scoping as Docker defines it.
//!
//! - Global ARGs (before the first stage) are visible only to FROM, unless
//!   a stage re-declares them (`ARG NAME` with no default takes the global
//!   value).
//! - A stage ARG is visible from its declaration on; a value given on the
//!   command line (`--build-arg`) or by the target overrides its default.
//! - The predefined proxy ARGs (`HTTP_PROXY`…) need no declaration: given
//!   values reach RUN's environment, but never expansion, the image config
//!   or the step cache key.
//! - ENV wins over an ARG of the same name.
//!
//! Builds on `expand`; knows nothing of the engine.

use std::collections::{BTreeMap, BTreeSet};

use super::expand::{ExpandError, Vars, expand_value, expand_word};
use crate::config::model::ArgDecl;
use crate::config::predefined_args::PROXY_ARGS;

/// The values of the global ARGs, for FROM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalScope {
    values: Vars,
}

impl GlobalScope {
    /// Each default is expanded with the global ARGs declared before it.
    pub fn resolve(decls: &[ArgDecl], overrides: &Vars) -> Result<Self, ExpandError> {
        let mut values = Vars::new();
        for decl in decls {
            let name = &decl.name.value;
            if let Some(value) = overrides.get(name) {
                values.insert(name.clone(), value.clone());
            } else if let Some(default) = &decl.default {
                let value = expand_value(default, &values)?;
                values.insert(name.clone(), value);
            }
        }
        Ok(Self { values })
    }

    /// The variables FROM expands with.
    pub fn vars(&self) -> &Vars {
        &self.values
    }
}

/// What a stage's instructions see at one point of the stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageScope {
    globals: Vars,
    overrides: Vars,
    /// Declared ARGs that have a value.
    args: Vars,
    declared: BTreeSet<String>,
    /// The image environment, in order (from the base, then ENV steps).
    env: Vec<(String, String)>,
}

impl StageScope {
    /// `base_env` is the environment of the image the stage starts from.
    pub fn new(globals: &GlobalScope, overrides: &Vars, base_env: Vec<(String, String)>) -> Self {
        Self {
            globals: globals.values.clone(),
            overrides: overrides.clone(),
            args: Vars::new(),
            declared: BTreeSet::new(),
            env: base_env,
        }
    }

    /// Several declarations: one `ARG` each (as exported, since the classic
    /// builder takes one name per ARG), so each sees the ones before it.
    pub fn declare_args(&mut self, decls: &[ArgDecl]) -> Result<(), ExpandError> {
        decls.iter().try_for_each(|decl| self.declare_arg(decl))
    }

    /// `ARG NAME[=default]` in the stage.
    pub fn declare_arg(&mut self, decl: &ArgDecl) -> Result<(), ExpandError> {
        let name = decl.name.value.clone();
        let value = if let Some(value) = self.overrides.get(&name) {
            Some(value.clone())
        } else if let Some(default) = &decl.default {
            Some(expand_value(default, &self.vars())?)
        } else {
            self.globals.get(&name).cloned()
        };
        self.declared.insert(name.clone());
        match value {
            Some(value) => {
                self.args.insert(name, value);
            }
            None => {
                self.args.remove(&name);
            }
        }
        Ok(())
    }

    /// `ENV NAME=value`: the value is expanded first, then set.
    pub fn set_env(&mut self, name: &str, raw_value: &str) -> Result<String, ExpandError> {
        let value = expand_value(raw_value, &self.vars())?;
        self.put_env(name, &value);
        Ok(value)
    }

    /// One `ENV a=… b=…` instruction: every value expands with what was
    /// visible before the instruction, as in Docker.
    pub fn set_envs<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), ExpandError> {
        let before = self.vars();
        for (name, raw_value) in pairs {
            let value = expand_value(raw_value, &before)?;
            self.put_env(name, &value);
        }
        Ok(())
    }

    fn put_env(&mut self, name: &str, value: &str) {
        match self.env.iter_mut().find(|(key, _)| key == name) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.env.push((name.to_owned(), value.to_owned())),
        }
    }

    /// The variables an instruction expands with: ARGs, overlaid by ENV.
    pub fn vars(&self) -> Vars {
        let mut vars = self.args.clone();
        vars.extend(self.env.iter().cloned());
        vars
    }

    /// Expand one word in this scope.
    pub fn expand(&self, word: &str) -> Result<String, ExpandError> {
        expand_word(word, &self.vars())
    }

    /// Expand an ENV/LABEL/ARG value in this scope (literal but for `$`).
    pub fn expand_value(&self, text: &str) -> Result<String, ExpandError> {
        expand_value(text, &self.vars())
    }

    /// The image environment (persisted in the image config).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// ARGs a RUN gets as environment (not persisted): declared ones not
    /// shadowed by ENV. They are part of the step's cache key.
    pub fn run_args(&self) -> Vec<(String, String)> {
        self.args
            .iter()
            .filter(|(name, _)| !self.env.iter().any(|(key, _)| key == *name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    /// Given proxy ARGs nobody declared: RUN's environment only, outside the
    /// cache key (Docker leaves them out of the build history).
    pub fn proxy_args(&self) -> Vec<(String, String)> {
        PROXY_ARGS
            .iter()
            .filter(|name| !self.declared.contains(**name))
            .filter(|name| !self.env.iter().any(|(key, _)| key == *name))
            .filter_map(|name| {
                self.overrides
                    .get(*name)
                    .map(|value| (name.to_string(), value.clone()))
            })
            .collect()
    }

    /// The complete environment of a RUN: image env, then step-only ARGs.
    pub fn run_environment(&self) -> Vec<String> {
        let mut all: BTreeMap<&str, &str> = BTreeMap::new();
        let step_only = self.run_args();
        let proxies = self.proxy_args();
        for (name, value) in step_only.iter().chain(proxies.iter()) {
            all.insert(name, value);
        }
        self.env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(all.iter().map(|(k, v)| format!("{k}={v}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::located::Located;

    fn arg(name: &str, default: Option<&str>) -> ArgDecl {
        ArgDecl {
            name: Located::unplaced(name.to_owned()),
            default: default.map(str::to_owned),
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn global_defaults_expand_with_earlier_globals_and_yield_to_overrides() {
        let decls = [
            arg("VERSION", Some("1.2")),
            arg("IMAGE", Some("base:${VERSION}")),
            arg("UNSET", None),
        ];
        let globals = GlobalScope::resolve(&decls, &Vars::new()).unwrap();
        assert_eq!(
            globals.vars(),
            &vars(&[("VERSION", "1.2"), ("IMAGE", "base:1.2")])
        );

        let globals = GlobalScope::resolve(&decls, &vars(&[("VERSION", "2.0")])).unwrap();
        assert_eq!(globals.vars()["IMAGE"], "base:2.0");
    }

    #[test]
    fn globals_are_invisible_in_a_stage_until_redeclared() {
        let globals = GlobalScope::resolve(&[arg("V", Some("1"))], &Vars::new()).unwrap();
        let mut scope = StageScope::new(&globals, &Vars::new(), vec![]);
        assert_eq!(scope.expand("v=$V").unwrap(), "v=");
        scope.declare_arg(&arg("V", None)).unwrap();
        assert_eq!(scope.expand("v=$V").unwrap(), "v=1");
    }

    #[test]
    fn table_of_stage_scoping_rules() {
        struct Case {
            overrides: &'static [(&'static str, &'static str)],
            base_env: &'static [(&'static str, &'static str)],
            steps: &'static [(&'static str, &'static str, Option<&'static str>)],
            word: &'static str,
            expected: &'static str,
        }
        let cases = [
            // A stage ARG with a default, seen after its declaration.
            Case {
                overrides: &[],
                base_env: &[],
                steps: &[("arg", "A", Some("x"))],
                word: "$A",
                expected: "x",
            },
            // --build-arg overrides the default, literally.
            Case {
                overrides: &[("A", "$given")],
                base_env: &[],
                steps: &[("arg", "A", Some("x"))],
                word: "$A",
                expected: "$given",
            },
            // An override for an ARG that is not declared is invisible.
            Case {
                overrides: &[("B", "y")],
                base_env: &[],
                steps: &[],
                word: "[$B]",
                expected: "[]",
            },
            // ENV wins over ARG, whichever comes first.
            Case {
                overrides: &[],
                base_env: &[],
                steps: &[("env", "A", Some("env")), ("arg", "A", Some("arg"))],
                word: "$A",
                expected: "env",
            },
            Case {
                overrides: &[("A", "given")],
                base_env: &[],
                steps: &[("arg", "A", Some("arg")), ("env", "A", Some("env-$A"))],
                word: "$A",
                expected: "env-given",
            },
            // The base image's environment is visible.
            Case {
                overrides: &[],
                base_env: &[("PATH", "/bin")],
                steps: &[("env", "PATH", Some("/opt:$PATH"))],
                word: "$PATH",
                expected: "/opt:/bin",
            },
            // Defaults expand with what is visible at the declaration.
            Case {
                overrides: &[],
                base_env: &[],
                steps: &[("env", "E", Some("e")), ("arg", "A", Some("${E}-a"))],
                word: "$A",
                expected: "e-a",
            },
            // Proxy args are not expanded without a declaration.
            Case {
                overrides: &[("HTTP_PROXY", "http://p")],
                base_env: &[],
                steps: &[],
                word: "[$HTTP_PROXY]",
                expected: "[]",
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            let base_env = case
                .base_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let mut scope =
                StageScope::new(&GlobalScope::default(), &vars(case.overrides), base_env);
            for (kind, name, value) in case.steps {
                match *kind {
                    "arg" => scope.declare_arg(&arg(name, *value)).unwrap(),
                    _ => {
                        scope.set_env(name, value.unwrap_or_default()).unwrap();
                    }
                }
            }
            assert_eq!(scope.expand(case.word).unwrap(), case.expected, "case {i}");
        }
    }

    #[test]
    fn one_instruction_sees_the_values_from_before_it() {
        let mut scope = StageScope::new(&GlobalScope::default(), &Vars::new(), vec![]);
        scope.set_env("A", "old").unwrap();
        scope.set_envs([("A", "new"), ("B", "$A")]).unwrap();
        assert_eq!(scope.expand("$A $B").unwrap(), "new old");
        scope
            .declare_args(&[arg("X", Some("x")), arg("Y", Some("[$X]"))])
            .unwrap();
        assert_eq!(
            scope.expand("$Y").unwrap(),
            "[x]",
            "one ARG per declaration"
        );
    }

    #[test]
    fn run_environment_has_step_only_args_and_undeclared_proxies() {
        let overrides = vars(&[("http_proxy", "http://p"), ("A", "given")]);
        let mut scope = StageScope::new(
            &GlobalScope::default(),
            &overrides,
            vec![("PATH".into(), "/bin".into())],
        );
        scope.declare_arg(&arg("A", Some("x"))).unwrap();
        scope.declare_arg(&arg("B", Some("b"))).unwrap();
        scope.declare_arg(&arg("C", None)).unwrap();
        scope.set_env("B", "env-b").unwrap();
        assert_eq!(
            scope.run_args(),
            vec![("A".to_owned(), "given".to_owned())],
            "B is shadowed by ENV, C has no value"
        );
        assert_eq!(
            scope.proxy_args(),
            vec![("http_proxy".to_owned(), "http://p".to_owned())]
        );
        assert_eq!(
            scope.run_environment(),
            vec!["PATH=/bin", "B=env-b", "A=given", "http_proxy=http://p"]
        );
        assert_eq!(scope.env().len(), 2, "ARGs are never persisted");
    }
}
