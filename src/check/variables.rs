//! `$VAR` and `${VAR}` uses must name something declared where they are
//! used, following Docker's scoping: `from` and `platform` see global args;
//! inside a stage, only the stage's own args (a global one must be
//! re-declared), its env, env inherited from a base stage, and Docker's
//! predefined args. In shell-form `run` commands, names the script assigns
//! itself and common shell variables are left alone. Uses are warnings:
//! a variable set by the base image works in Docker but is invisible here.

use std::collections::{HashMap, HashSet};

use super::codes;
use crate::config::CommandForm;
use crate::config::Located;
use crate::config::model::{Base, Project, Stage, StepKind};
use crate::diagnostics::{Diagnostic, Label};

/// Args Docker defines without a declaration.
pub const PREDEFINED_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// Variables every shell has; a `run` command may use them freely.
const SHELL_VARIABLES: &[&str] = &[
    "PATH", "HOME", "PWD", "OLDPWD", "USER", "HOSTNAME", "SHELL", "TERM", "LANG", "LC_ALL", "IFS",
    "UID", "RANDOM", "SECONDS", "LINENO", "OPTARG", "OPTIND", "REPLY",
];

/// The variable names used in `text`, in order (`$$` and `\$` are not uses).
pub fn variable_uses(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 2,
            b'$' => {
                let braced = bytes.get(i + 1) == Some(&b'{');
                let start = i + 1 + usize::from(braced);
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                let name = &text[start..end];
                if name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                    out.push(name.to_owned());
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    out
}

/// Names a shell script assigns itself: `NAME=`, `for NAME in`, `read NAME`.
fn shell_assigned(script: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let words: Vec<&str> = script
        .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|' || c == '(')
        .filter(|w| !w.is_empty())
        .collect();
    for (k, word) in words.iter().enumerate() {
        if let Some((name, _)) = word.split_once('=')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.insert(name.to_owned());
        }
        if matches!(*word, "for" | "read" | "local" | "export")
            && let Some(next) = words.get(k + 1)
        {
            out.insert(next.split('=').next().unwrap_or_default().to_owned());
        }
    }
    out
}

struct Scope<'a> {
    project: &'a Project,
    stage: &'a Stage,
    names: HashSet<String>,
    out: &'a mut Vec<Diagnostic>,
}

impl Scope<'_> {
    fn declare(&mut self, name: &str) {
        self.names.insert(name.to_owned());
    }

    fn uses(&mut self, value: &Located<String>) {
        self.uses_except(value, &HashSet::new());
    }

    fn uses_except(&mut self, value: &Located<String>, also: &HashSet<String>) {
        let mut reported = HashSet::new();
        for name in variable_uses(&value.value) {
            if self.names.contains(&name)
                || also.contains(&name)
                || PREDEFINED_ARGS.contains(&name.as_str())
                || !reported.insert(name.clone())
            {
                continue;
            }
            let stage = &self.stage.name.value;
            let global = self.project.args.iter().any(|a| a.name.value == name);
            let help = if global {
                format!(
                    "`{name}` is a global arg: re-declare it in the stage with `args = {{ {name} = {{}} }}`"
                )
            } else {
                format!(
                    "declare it in `args` or `env` of stage `{stage}`, or in `[args]` and re-declare it in the stage"
                )
            };
            self.out.push(
                Diagnostic::warning(
                    codes::UNDECLARED_VARIABLE,
                    format!("`${name}` is not a declared arg or env of stage `{stage}`"),
                )
                .with_label(Label::primary(value.span, format!("uses `${name}`")))
                .with_help(help),
            );
        }
    }
}

/// Env names a stage sets itself, in `env` or in `env` steps.
fn own_env(stage: &Stage) -> HashSet<String> {
    let mut names: HashSet<String> = stage.env.iter().map(|(k, _)| k.value.clone()).collect();
    for step in &stage.steps {
        if let StepKind::Env(env) = &step.kind {
            names.extend(env.iter().map(|(k, _)| k.value.clone()));
        }
    }
    names
}

/// For each stage (by index), the env names it sets with those its base
/// stages set. Each stage is computed once, walking down its chain of bases
/// only to the first one already known, without recursion: a chain of
/// thousands of stages neither overflows the stack nor costs a walk of the
/// whole chain per stage. A cycle (reported elsewhere) ends the walk.
fn env_with_bases(project: &Project) -> Vec<HashSet<String>> {
    let index: HashMap<&str, usize> = project
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.value.as_str(), i))
        .collect();
    let base_of = |i: usize| match project.base_with(&project.stages[i], &[]) {
        Base::Stage(base) => index.get(base.as_str()).copied(),
        Base::Image(_) => None,
    };
    let mut known: Vec<Option<HashSet<String>>> = vec![None; project.stages.len()];
    for start in 0..project.stages.len() {
        let mut chain = Vec::new();
        let mut on_chain = HashSet::new();
        let mut at = Some(start);
        while let Some(i) = at {
            if known[i].is_some() || !on_chain.insert(i) {
                break;
            }
            chain.push(i);
            at = base_of(i);
        }
        let mut names = at.and_then(|i| known[i].clone()).unwrap_or_default();
        for &i in chain.iter().rev() {
            names.extend(own_env(&project.stages[i]));
            known[i] = Some(names.clone());
        }
    }
    known.into_iter().map(Option::unwrap_or_default).collect()
}

pub(super) fn check_variables(project: &Project) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let globals: HashSet<String> = project.args.iter().map(|a| a.name.value.clone()).collect();
    let index: HashMap<&str, usize> = project
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.value.as_str(), i))
        .collect();
    let with_bases = env_with_bases(project);
    for stage in &project.stages {
        let inherited = match project.base_with(stage, &[]) {
            Base::Stage(base) => index
                .get(base.as_str())
                .and_then(|&i| with_bases.get(i).cloned())
                .unwrap_or_default(),
            Base::Image(_) => HashSet::new(),
        };
        let mut scope = Scope {
            project,
            stage,
            names: globals.clone(),
            out: &mut out,
        };
        if let Base::Image(image) = &stage.from.value {
            scope.uses(&Located::new(image.clone(), stage.from.span));
        }
        if let Some(platform) = &stage.platform {
            scope.uses(platform);
        }
        scope.names = inherited;
        for arg in &stage.args {
            scope.declare(&arg.name.value);
        }
        for (name, value) in &stage.env {
            scope.uses(value);
            scope.declare(&name.value);
        }
        for value in [&stage.workdir, &stage.user].into_iter().flatten() {
            scope.uses(value);
        }
        for step in &stage.steps {
            check_step(&mut scope, &step.kind);
        }
        for volume in &stage.config.volumes {
            scope.uses(volume);
        }
    }
    out.extend(check_target_args(project));
    out
}

/// A target's `args` must set something declared: a global arg, a stage
/// arg (in `args` or an `arg` step), or a predefined one.
fn check_target_args(project: &Project) -> Vec<Diagnostic> {
    let mut declared: Vec<&str> = project.args.iter().map(|a| a.name.value.as_str()).collect();
    for stage in &project.stages {
        declared.extend(stage.args.iter().map(|a| a.name.value.as_str()));
        for step in &stage.steps {
            if let StepKind::Arg(args) = &step.kind {
                declared.extend(args.iter().map(|a| a.name.value.as_str()));
            }
        }
    }
    let mut out = Vec::new();
    for target in &project.targets {
        for (name, _) in &target.args {
            if declared.contains(&name.value.as_str())
                || PREDEFINED_ARGS.contains(&name.value.as_str())
            {
                continue;
            }
            let help = match crate::diagnostics::did_you_mean(&name.value, declared.iter().copied())
            {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "declare it in `[args]` (`{} = {{}}`), or remove it",
                    name.value
                ),
            };
            out.push(
                Diagnostic::warning(
                    codes::UNKNOWN_BUILD_ARG,
                    format!(
                        "target `{}` sets `{}`, which no arg declares",
                        target.name.value, name.value
                    ),
                )
                .with_label(Label::primary(name.span, "not a declared build argument"))
                .with_help(help),
            );
        }
    }
    out
}

fn check_step(scope: &mut Scope<'_>, kind: &StepKind) {
    match kind {
        StepKind::Run(run) => {
            if let CommandForm::Shell(script) = &run.command.value {
                let mut allowed = shell_assigned(script);
                allowed.extend(SHELL_VARIABLES.iter().map(|s| (*s).to_owned()));
                scope.uses_except(&Located::new(script.clone(), run.command.span), &allowed);
            }
        }
        StepKind::Copy(copy) => {
            copy.sources.iter().for_each(|s| scope.uses(s));
            scope.uses(&copy.to);
            copy_options(scope, &copy.options);
        }
        StepKind::Add(add) => {
            add.sources.iter().for_each(|s| scope.uses(s));
            scope.uses(&add.to);
            copy_options(scope, &add.options);
        }
        StepKind::Artifact(copy) => {
            scope.uses(&copy.to);
            copy_options(scope, &copy.options);
        }
        StepKind::Env(env) => {
            for (name, value) in env {
                scope.uses(value);
                scope.declare(&name.value);
            }
        }
        StepKind::Workdir(value) | StepKind::User(value) => scope.uses(value),
        StepKind::Arg(args) => args.iter().for_each(|a| scope.declare(&a.name.value)),
        StepKind::Shell(_) => {}
    }
}

fn copy_options(scope: &mut Scope<'_>, options: &crate::config::model::CopyOptions) {
    for value in [&options.chown, &options.chmod].into_iter().flatten() {
        scope.uses(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_uses() {
        assert_eq!(
            variable_uses("a $A ${B:-x} $$ \\$C $1 ${_D}"),
            ["A", "B", "_D"]
        );
    }

    fn stage(name: &str, from: Base, env: &[&str]) -> Stage {
        Stage {
            name: Located::unplaced(name.to_owned()),
            from: Located::unplaced(from),
            platform: None,
            args: Vec::new(),
            env: env
                .iter()
                .map(|k| {
                    (
                        Located::unplaced((*k).to_owned()),
                        Located::unplaced(String::new()),
                    )
                })
                .collect(),
            workdir: None,
            user: None,
            shell: None,
            steps: Vec::new(),
            config: Default::default(),
        }
    }

    #[test]
    fn env_is_inherited_down_a_chain_of_any_length_and_through_cycles() {
        // Deep enough to overflow the stack if each base were a call deeper.
        let count = 50_000;
        let mut project = Project::default();
        project
            .stages
            .push(stage("s0", Base::Image("busybox".into()), &["ROOT"]));
        for i in 1..count {
            let env: &[&str] = if i == 7 { &["SEVEN"] } else { &[] };
            project.stages.push(stage(
                &format!("s{i}"),
                Base::Stage(format!("s{}", i - 1)),
                env,
            ));
        }
        project
            .stages
            .push(stage("x", Base::Stage("y".into()), &["X"]));
        project
            .stages
            .push(stage("y", Base::Stage("x".into()), &["Y"]));
        let env = env_with_bases(&project);
        assert!(env[count - 1].contains("ROOT") && env[count - 1].contains("SEVEN"));
        assert!(env[6].contains("ROOT") && !env[6].contains("SEVEN"));
        assert!(env[count].contains("X") && env[count].contains("Y"));
    }

    #[test]
    fn shell_assignments() {
        let names = shell_assigned("for f in *; do X=1 echo $f; done; read LINE");
        for name in ["f", "X", "LINE"] {
            assert!(names.contains(name), "{name}");
        }
    }
}
