//! `$VAR` and `${VAR}` uses must name something the Dockerfile layer knows
//! where it expands them, as BuildKit's UndefinedVar check sees it. Only the
//! values BuildKit itself expands count: `env`, `workdir`, `user`, volumes,
//! stop signals, copy and add paths and flags, arg defaults and mount
//! options. A `run` command, `cmd` or `entrypoint` is expanded by the shell
//! at run time, so its `$VAR` is never reported. Inside a stage the known
//! names are its own args and env, the env of its base stage (args with a
//! value become env there too), and for an image base the image's env when
//! the Engine has the image; `PATH` is always set, as BuildKit sets it.
//! `from` and `platform` see global args and the platform args.

use std::collections::{HashMap, HashSet};

use super::codes;
use crate::config::Located;
use crate::config::model::{Base, Mount, MountType, Project, Stage, StepKind};
use crate::config::predefined_args::is_predefined;
use crate::diagnostics::{Diagnostic, Label, did_you_mean};
use crate::located::Span;

/// The env names of base images, by reference as written in `from`, for
/// the images the Engine has. An image missing here is unknown: only the
/// `PATH` BuildKit always sets is assumed.
pub type BaseEnv = HashMap<String, HashSet<String>>;

/// The variable names BuildKit's word expansion looks up in `text`, in
/// order: `$NAME` and `${NAME…}` (with the names inside a `${…}` default),
/// not after the escape character. With `quotes`, nothing between single
/// quotes is expanded, as in a Dockerfile word; stages.toml values have no
/// quoting of their own, so their quotes are plain characters.
pub fn expanded_names(text: &str, escape: char, quotes: bool) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_double = false;
    while i < chars.len() {
        let c = chars[i];
        if c == escape {
            i += 2;
            continue;
        }
        if quotes && c == '"' {
            in_double = !in_double;
        } else if quotes && c == '\'' && !in_double {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
        } else if c == '$' {
            let braced = chars.get(i + 1) == Some(&'{');
            let start = i + 1 + usize::from(braced);
            let mut end = start;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            if name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                out.push(name);
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    out
}

/// The variable names used in a stages.toml value, in order.
pub fn variable_uses(text: &str) -> Vec<String> {
    expanded_names(text, '\\', false)
}

/// One use of a name the Dockerfile layer does not know where it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndefinedUse {
    pub name: String,
    pub span: Span,
    pub stage: String,
    /// The known name closest to it, if one is close.
    pub suggestion: Option<String>,
    /// A global arg of that name exists: the stage must re-declare it.
    pub global: bool,
    /// The stage's base image is not on the Engine, so its env is unknown.
    pub base_unknown: bool,
}

/// Names a stage leaves in the env of a stage built on it: its env keys
/// and its args with a value (a default, or a global arg's default).
fn own_env(stage: &Stage, globals: &HashMap<&str, bool>) -> HashSet<String> {
    let has_value = |a: &crate::config::model::ArgDecl| {
        a.default.is_some() || globals.get(a.name.value.as_str()) == Some(&true)
    };
    let mut names: HashSet<String> = stage.env.iter().map(|(k, _)| k.value.clone()).collect();
    names.extend(
        stage
            .args
            .iter()
            .filter(|a| has_value(a))
            .map(|a| a.name.value.clone()),
    );
    for step in &stage.steps {
        match &step.kind {
            StepKind::Env(env) => names.extend(env.iter().map(|(k, _)| k.value.clone())),
            StepKind::Arg(args) => {
                names.extend(
                    args.iter()
                        .filter(|a| has_value(a))
                        .map(|a| a.name.value.clone()),
                );
            }
            _ => {}
        }
    }
    names
}

/// For each stage (by index), the env it starts with: its base stage's
/// env with what that stage set, or its base image's. Each stage is
/// computed once, walking down its chain of bases only to the first one
/// already known, without recursion: a chain of thousands of stages neither
/// overflows the stack nor costs a walk of the whole chain per stage. A
/// cycle (reported elsewhere) ends the walk.
fn env_with_bases(project: &Project, base_env: &BaseEnv) -> Vec<(HashSet<String>, bool)> {
    let index: HashMap<&str, usize> = project
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.value.as_str(), i))
        .collect();
    let globals: HashMap<&str, bool> = project
        .args
        .iter()
        .map(|a| (a.name.value.as_str(), a.default.is_some()))
        .collect();
    let base_of = |i: usize| match project.base_with(&project.stages[i], &[]) {
        Base::Stage(base) => index.get(base.as_str()).copied(),
        Base::Image(_) => None,
    };
    let image_env = |i: usize| -> (HashSet<String>, bool) {
        let mut names = HashSet::from(["PATH".to_owned()]);
        match project.base_with(&project.stages[i], &[]) {
            Base::Image(image) => match base_env.get(&image) {
                Some(env) => {
                    names.extend(env.iter().cloned());
                    (names, false)
                }
                None => (names, image != "scratch"),
            },
            Base::Stage(_) => (names, false),
        }
    };
    // What each stage ends with: its start plus what it sets.
    let mut known: Vec<Option<(HashSet<String>, bool)>> = vec![None; project.stages.len()];
    let mut starts: Vec<(HashSet<String>, bool)> = vec![Default::default(); project.stages.len()];
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
        let mut names = match at.and_then(|i| known[i].clone()) {
            Some(found) => found,
            None => chain.last().map(|&i| image_env(i)).unwrap_or_default(),
        };
        for &i in chain.iter().rev() {
            starts[i] = names.clone();
            names.0.extend(own_env(&project.stages[i], &globals));
            known[i] = Some(names.clone());
        }
    }
    starts
}

struct Scope<'a> {
    project: &'a Project,
    stage: &'a Stage,
    names: HashSet<String>,
    base_unknown: bool,
    out: &'a mut Vec<UndefinedUse>,
}

impl Scope<'_> {
    fn declare(&mut self, name: &str) {
        self.names.insert(name.to_owned());
    }

    fn expands(&mut self, text: &str, span: Span) {
        let mut reported = HashSet::new();
        for name in variable_uses(text) {
            if self.names.contains(&name) || !reported.insert(name.clone()) {
                continue;
            }
            let suggestion =
                did_you_mean(&name, self.names.iter().map(String::as_str)).map(str::to_owned);
            self.out.push(UndefinedUse {
                global: self.project.args.iter().any(|a| a.name.value == name),
                stage: self.stage.name.value.clone(),
                name,
                span,
                suggestion,
                base_unknown: self.base_unknown,
            });
        }
    }

    fn uses(&mut self, value: &Located<String>) {
        self.expands(&value.value, value.span);
    }

    fn mount(&mut self, mount: &Located<Mount>) {
        let m = &mount.value;
        let from = m.from.as_ref().map(|f| f.value.as_str());
        let kind = match &m.kind {
            MountType::Variable(text) => Some(text.as_str()),
            MountType::Known(_) => None,
        };
        for text in [
            &m.target, &m.source, &m.id, &m.mode, &m.size, &m.env, &m.sharing,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain(from)
        .chain(kind)
        {
            self.expands(text, mount.span);
        }
    }
}

/// Every use BuildKit's UndefinedVar check would report in the stages.
pub fn undefined_uses(project: &Project, base_env: &BaseEnv) -> Vec<UndefinedUse> {
    let mut out = Vec::new();
    let starts = env_with_bases(project, base_env);
    for (stage, (names, base_unknown)) in project.stages.iter().zip(starts) {
        let mut scope = Scope {
            project,
            stage,
            names,
            base_unknown,
            out: &mut out,
        };
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
            step_uses(&mut scope, &step.kind);
        }
        config_uses(&mut scope, &stage.config);
    }
    out
}

/// The image configuration values BuildKit's UndefinedVar check reads.
fn config_uses(scope: &mut Scope<'_>, config: &crate::config::model::ImageConfig) {
    for volume in &config.volumes {
        scope.uses(volume);
    }
    if let Some(signal) = &config.stop_signal {
        scope.uses(signal);
    }
}

fn step_uses(scope: &mut Scope<'_>, kind: &StepKind) {
    match kind {
        StepKind::Run(run) => run.mounts.iter().for_each(|m| scope.mount(m)),
        StepKind::Copy(copy) => {
            copy.sources.iter().for_each(|s| scope.uses(s));
            scope.uses(&copy.to);
            copy_options(scope, &copy.options);
        }
        StepKind::Add(add) => {
            add.sources.iter().for_each(|s| scope.uses(s));
            scope.uses(&add.to);
            copy_options(scope, &add.options);
            if let Some(checksum) = &add.checksum {
                scope.uses(checksum);
            }
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
        StepKind::Config(config) => config_uses(scope, config),
    }
}

fn copy_options(scope: &mut Scope<'_>, options: &crate::config::model::CopyOptions) {
    for value in [&options.chown, &options.chmod].into_iter().flatten() {
        scope.uses(value);
    }
}

/// Uses of names in `from` and `platform` that no global arg (nor a
/// platform arg) declares: (name, span, stage).
pub fn undeclared_in_from(project: &Project) -> Vec<(String, Span, String)> {
    let mut out = Vec::new();
    for stage in &project.stages {
        let mut values = Vec::new();
        if let Base::Image(image) = &stage.from.value {
            values.push((image.as_str(), stage.from.span));
        }
        if let Some(platform) = &stage.platform {
            values.push((platform.value.as_str(), platform.span));
        }
        for (text, span) in values {
            let mut reported = HashSet::new();
            for name in variable_uses(text) {
                let declared =
                    project.args.iter().any(|a| a.name.value == name) || is_predefined(&name);
                if !declared && reported.insert(name.clone()) {
                    out.push((name, span, stage.name.value.clone()));
                }
            }
        }
    }
    out
}

pub(super) fn check_variables(project: &Project) -> Vec<Diagnostic> {
    variable_diagnostics(project, &BaseEnv::new())
}

/// The warnings `check` gives for variables, knowing the env of the base
/// images in `base_env`.
pub fn variable_diagnostics(project: &Project, base_env: &BaseEnv) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (name, span, stage) in undeclared_in_from(project) {
        out.push(
            Diagnostic::warning(
                codes::UNDECLARED_VARIABLE,
                format!(
                    "`${name}` is not a global arg, so `from` of stage `{stage}` cannot use it"
                ),
            )
            .with_label(Label::primary(span, format!("uses `${name}`")))
            .with_help(format!("declare it in `[args]` (`{name} = {{}}`)")),
        );
    }
    for found in undefined_uses(project, base_env) {
        out.push(undefined_use_diagnostic(codes::UNDECLARED_VARIABLE, &found));
    }
    out.extend(check_target_args(project));
    out
}

/// A diagnostic for one undefined use, under `code`.
pub fn undefined_use_diagnostic(code: &'static str, found: &UndefinedUse) -> Diagnostic {
    let UndefinedUse { name, stage, .. } = found;
    let help = if found.global {
        format!(
            "`{name}` is a global arg: re-declare it in the stage with `args = {{ {name} = {{}} }}`"
        )
    } else if let Some(close) = &found.suggestion {
        format!("did you mean `${close}`?")
    } else if found.base_unknown {
        format!(
            "declare it in `args` or `env` of stage `{stage}`; if the base image sets it, pull the image so its env is known"
        )
    } else {
        format!(
            "declare it in `args` or `env` of stage `{stage}`, or in `[args]` and re-declare it in the stage"
        )
    };
    Diagnostic::warning(
        code,
        format!("`${name}` is not a declared arg or env of stage `{stage}`"),
    )
    .with_label(Label::primary(found.span, format!("uses `${name}`")))
    .with_help(help)
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
            if declared.contains(&name.value.as_str()) || is_predefined(&name.value) {
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
        let env: Vec<HashSet<String>> = env_with_bases(&project, &BaseEnv::new())
            .into_iter()
            .map(|(names, _)| names)
            .collect();
        assert!(env[count - 1].contains("ROOT") && env[count - 1].contains("SEVEN"));
        assert!(env[6].contains("ROOT") && !env[6].contains("SEVEN"));
        // In a cycle one of the two starts with the other's env.
        assert!(env[count].contains("Y") || env[count + 1].contains("X"));
    }

    fn uses_in(text: &str, base_env: &BaseEnv) -> Vec<String> {
        let file = crate::diagnostics::SourceFile::new("stages.toml", text);
        let outcome = crate::check::check(&file);
        let project = outcome.project.expect("the test file checks");
        undefined_uses(&project, base_env)
            .into_iter()
            .map(|u| u.name)
            .collect()
    }

    #[test]
    fn path_from_the_base_image_and_shell_variables_are_not_reported() {
        let text = r#"
[stages.app]
from = "alpine:3.20"
env = { PATH = "/opt/bin:$PATH" }
steps = [{ run = "echo $HOME $UNSET_IN_SHELL" }]
"#;
        assert!(uses_in(text, &BaseEnv::new()).is_empty());
    }

    #[test]
    fn the_base_image_env_is_known_when_the_engine_has_it() {
        let text = r#"
[stages.app]
from = "golang:1.22"
workdir = "$GOPATH/src"
"#;
        assert_eq!(uses_in(text, &BaseEnv::new()), ["GOPATH"]);
        let env = BaseEnv::from([(
            "golang:1.22".to_owned(),
            HashSet::from(["GOPATH".to_owned()]),
        )]);
        assert!(uses_in(text, &env).is_empty());
    }

    #[test]
    fn args_with_a_value_reach_stages_built_on_this_one() {
        let text = r#"
[stages.base]
from = "alpine:3.20"
args = { FOO = "Dockerfile" }

[stages.app]
from = { stage = "base" }
steps = [{ copy = "$FOO", to = "." }, { copy = "$BAR", to = "." }]
"#;
        assert_eq!(uses_in(text, &BaseEnv::new()), ["BAR"]);
    }
}
