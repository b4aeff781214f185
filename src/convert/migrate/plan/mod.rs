//! The plan: walking the script in order, with its variables and working
//! directory, and keeping what matters for the build — the images it
//! builds (Dockerfile, context, tags, build args), the files it copies out
//! of them, and the `docker run`s whose output appears only at run time.
//! Every command it does not translate becomes a warning on its span.

mod containers;
mod files;
mod images;

use std::collections::HashMap;

use super::codes;
use super::docker::{self, DockerCommand};
use super::paths;
use super::shell::{Dialect, Part, Pipeline, Simple, lex};
use super::words::{Arg, Env, Value, assignment};
use crate::diagnostics::{Diagnostic, Label};
use crate::located::{Located, Span};

/// The script to read.
pub struct ScriptInput<'a> {
    pub text: &'a str,
    /// The ranges to read, in order (the whole file, or a Makefile's recipe lines).
    pub ranges: Vec<Span>,
    pub dialect: Dialect,
    pub make_variables: Vec<(String, String)>,
    /// The script's directory, relative to the project directory.
    pub script_dir: String,
    /// Whether a project-relative path is an existing directory.
    pub is_dir: &'a dyn Fn(&str) -> bool,
}

/// One `docker build`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedBuild {
    /// The Dockerfile, project-relative.
    pub dockerfile: String,
    /// Where the Dockerfile was named (`-f` value, else the whole command).
    pub dockerfile_span: Span,
    /// The context directory, project-relative.
    pub context: String,
    pub tags: Vec<Located<String>>,
    pub args: Vec<BuildArg>,
    pub target: Option<Located<String>>,
    pub no_cache: bool,
    pub span: Span,
    /// Its place among the script's builds and extractions, in the order they run.
    pub order: usize,
}

/// `--build-arg NAME=value` or `--build-arg NAME` (value from the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildArg {
    pub name: String,
    pub value: ArgValue,
    pub span: Span,
}

/// Where a build arg's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    Literal(String),
    /// The caller's own variable of the same name (`--build-arg X`, `X=$X`).
    Environment,
    /// Computed when the script runs (already reported).
    Dynamic,
}

/// Files copied out of a built image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extraction {
    /// Index into `Plan::builds`.
    pub build: usize,
    /// Inside the image; relative paths are relative to its working directory.
    pub path: String,
    /// Where it lands on the host, project-relative.
    pub dest: String,
    pub span: Span,
    /// Its place among the script's builds and extractions, in the order they run.
    pub order: usize,
    /// The container ran its command before the copy (index into
    /// `Plan::container_runs`): the files are what that command made.
    pub run: Option<usize>,
}

/// A container of a built image whose command ran before files were
/// copied out of it (`docker run --name`, `docker start`), or a command
/// whose standard output the script unpacked with `tar -x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRun {
    /// Index into `Plan::builds`.
    pub build: usize,
    /// `--entrypoint`, when given (Docker then drops the image's CMD too).
    pub entrypoint: Option<String>,
    /// The arguments after the image; none: the image's own command.
    pub command: Vec<String>,
    /// `-w DIR`.
    pub workdir: Option<String>,
    /// `-e NAME=value`.
    pub env: Vec<(String, String)>,
    /// `-u USER`.
    pub user: Option<String>,
    /// What the script kept of the command's standard output.
    pub capture: Option<Capture>,
    pub span: Span,
}

/// Standard output the script kept, and where the build step keeps it
/// inside the image instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    /// Piped into `tar -x`: unpacked into `dir`.
    Untar {
        dir: String,
        /// `z`, `j`, `J` or `--zstd`, as the script's `tar -x` had it.
        compression: Option<String>,
    },
    /// Redirected to a file (`> out.tar.gz`): written to `file`.
    File { file: String },
}

/// `docker run -v host:container image`: files written at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    pub build: Option<usize>,
    pub image: String,
    /// The command given after the image (empty: the image's CMD runs).
    pub command: Vec<String>,
    /// `-w DIR`.
    pub workdir: Option<String>,
    pub volumes: Vec<Located<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub builds: Vec<PlannedBuild>,
    pub extractions: Vec<Extraction>,
    pub run_outputs: Vec<RunOutput>,
    pub container_runs: Vec<ContainerRun>,
    /// Warnings (and errors) on the script.
    pub diagnostics: Vec<Diagnostic>,
    /// Values the migration chose where the script leaves a choice to the caller.
    pub notes: Vec<String>,
}

/// Commands that change nothing a build needs.
const HOUSEKEEPING: &[&str] = &[
    "echo", "printf", "set", "true", ":", "exit", "[", "[[", "test", "mkdir", "shift", "trap",
    "sleep", "unset", "return", "wait", "date", "pwd",
];

/// Reads the script and plans the migration.
pub fn plan(input: &ScriptInput<'_>) -> Plan {
    let mut walker = Walker {
        input,
        env: Env::default(),
        // make runs a recipe in the Makefile's directory (`make -C dir`);
        // a script, from wherever it is started: the project directory.
        cwd: if input.dialect.make {
            input.script_dir.clone()
        } else {
            ".".to_owned()
        },
        containers: HashMap::new(),
        started: Vec::new(),
        mkdirs: Vec::new(),
        removals: Vec::new(),
        region: None,
        if_depth: 0,
        plan: Plan::default(),
        next_container: 0,
    };
    for (name, value) in &input.make_variables {
        walker.env.set_make(name, value.clone());
    }
    for range in &input.ranges {
        for pipeline in lex(input.text, *range, input.dialect) {
            walker.pipeline(&pipeline);
        }
        walker.end_of_line();
    }
    walker.close_region();
    walker.check_removals();
    walker.check_started();
    walker.plan
}

/// A loop or `case` being skipped: where it started, how deep, the docker commands in it.
struct Region {
    keyword: String,
    start: usize,
    end: usize,
    depth: usize,
    inside: Vec<Span>,
}

struct Walker<'a> {
    input: &'a ScriptInput<'a>,
    env: Env,
    cwd: String,
    /// Container name → what it was made from.
    containers: HashMap<String, containers::Container>,
    /// Containers that ran, for the warning when nothing is copied out of them.
    started: Vec<containers::Started>,
    mkdirs: Vec<String>,
    removals: Vec<(String, Span)>,
    region: Option<Region>,
    /// Inside `if … fi`: assignments there depend on a condition.
    if_depth: usize,
    plan: Plan,
    next_container: usize,
}

impl Walker<'_> {
    fn next_order(&self) -> usize {
        self.plan.builds.len() + self.plan.extractions.len()
    }

    fn warn(&mut self, diagnostic: Diagnostic) {
        self.plan.diagnostics.push(diagnostic);
    }

    /// Make runs each recipe line in its own shell: a region cannot span lines.
    fn end_of_line(&mut self) {
        if self.input.dialect.make {
            self.close_region();
        }
    }

    fn pipeline(&mut self, pipeline: &Pipeline) {
        let Some(first) = pipeline.commands.first() else {
            return;
        };
        if self.in_region(first, pipeline.span) {
            return;
        }
        if let [run, unpack] = pipeline.commands.as_slice()
            && self.tar_pipe(run, unpack)
        {
            return;
        }
        for command in &pipeline.commands {
            self.simple(command, pipeline.commands.len() == 1);
        }
    }

    fn keyword(command: &Simple) -> Option<String> {
        command.words.first().and_then(|w| w.literal())
    }

    /// Loops and `case`: skipped as a whole, reported once.
    fn in_region(&mut self, command: &Simple, span: Span) -> bool {
        let keyword = Self::keyword(command).unwrap_or_default();
        let opens = matches!(
            keyword.as_str(),
            "for" | "while" | "until" | "case" | "select"
        );
        let closes = matches!(keyword.as_str(), "done" | "esac");
        if let Some(region) = &mut self.region {
            region.end = region.end.max(span.end);
            if opens {
                region.depth += 1;
            } else if closes {
                region.depth -= 1;
                if region.depth == 0 {
                    self.close_region();
                }
            } else if command_mentions_docker(command) {
                region.inside.push(span);
            }
            return true;
        }
        if opens {
            self.region = Some(Region {
                keyword,
                start: span.start,
                end: span.end,
                depth: 1,
                inside: Vec::new(),
            });
            if command_mentions_docker(command)
                && let Some(region) = &mut self.region
            {
                region.inside.push(span);
            }
            return true;
        }
        false
    }

    fn close_region(&mut self) {
        let Some(region) = self.region.take() else {
            return;
        };
        let mut diagnostic = Diagnostic::warning(
            codes::LOOP,
            format!(
                "a `{}` runs its commands several times; it was not migrated",
                region.keyword
            ),
        )
        .with_label(Label::primary(
            Span::new(region.start, region.end),
            "this loop",
        ))
        .with_help(
            "write one stage per value (a loop over architectures is `platforms = [\"linux/amd64\", \"linux/arm64\"]` on the image target), then remove the loop",
        );
        for span in region.inside {
            diagnostic = diagnostic.with_label(Label::secondary(span, "not migrated"));
        }
        self.warn(diagnostic);
    }

    fn expand_all(&self, command: &Simple) -> Vec<Arg> {
        command.words.iter().map(|w| self.env.expand(w)).collect()
    }

    fn simple(&mut self, command: &Simple, alone: bool) {
        let mut words: &[super::shell::Word] = &command.words;
        // Leading keywords: `then docker build …`, `do …`, `if [ … ]`.
        while let Some(keyword) = words.first().and_then(|w| w.literal()) {
            if matches!(
                keyword.as_str(),
                "then"
                    | "else"
                    | "do"
                    | "if"
                    | "elif"
                    | "!"
                    | "{"
                    | "}"
                    | "fi"
                    | "sudo"
                    | "exec"
                    | "time"
                    | "command"
            ) {
                match keyword.as_str() {
                    "if" => self.if_depth += 1,
                    "fi" => self.if_depth = self.if_depth.saturating_sub(1),
                    _ => {}
                }
                words = &words[1..];
            } else {
                break;
            }
        }
        let Some(first) = words.first() else {
            return;
        };
        // `A=1 B=2` alone sets variables; before a command, only for that command.
        let assignments: Vec<(String, super::shell::Word)> =
            words.iter().map_while(assignment).collect();
        if assignments.len() == words.len() {
            for (name, value) in assignments {
                self.assign(&name, &value);
            }
            return;
        }
        let words = &words[assignments.len()..];
        let command = Simple {
            words: words.to_vec(),
            redirects: command.redirects.clone(),
            span: Span::new(first.span.start, command.span.end),
        };
        let args = self.expand_all(&command);
        let name = args[0].text.clone();
        match name.as_str() {
            "export" | "readonly" | "local" | "declare" | "typeset" => {
                for word in &command.words[1..] {
                    if let Some((name, value)) = assignment(word) {
                        self.assign(&name, &value);
                    }
                }
            }
            "cd" => self.cd(&args),
            "mkdir" => {
                for arg in args[1..].iter().filter(|a| !a.text.starts_with('-')) {
                    let dir = paths::join(&self.cwd, &arg.text);
                    self.mkdirs.push(dir);
                }
            }
            "rm" => {
                for arg in args[1..].iter().filter(|a| !a.text.starts_with('-')) {
                    let path = paths::join(&self.cwd, &arg.text);
                    self.removals.push((path, arg.span));
                }
            }
            "chmod" if self.chmods_extracted_files(&args) => {
                let shown: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
                self.warn(
                    Diagnostic::warning(
                        codes::NOT_MIGRATED,
                        format!(
                            "`{}` changes the mode of a file copied out of the builder; the artifact copy keeps the mode the file has in the builder",
                            shown.join(" ")
                        ),
                    )
                    .with_label(Label::primary(command.span, "not migrated"))
                    .with_help(
                        "if the file does not already have that mode in the builder, add `chmod = \"0755\"` (or the mode wanted) to the steps that copy the artifact",
                    ),
                );
            }
            "docker" => self.docker(&command, &args, alone),
            "docker-compose" => self.compose(&command, &args),
            "make" | "gmake" if !self.input.dialect.make => self.make(&command, &args),
            other if HOUSEKEEPING.contains(&other) => {}
            other => {
                let shown = if other.starts_with("$(") {
                    "this command".to_owned()
                } else {
                    format!("`{other}`")
                };
                self.warn(
                    Diagnostic::warning(
                        codes::NOT_MIGRATED,
                        format!("{shown} is not part of an image build; it was not migrated"),
                    )
                    .with_label(Label::primary(command.span, "not migrated"))
                    .with_help(
                        "if a build needs what it does, add it as a step (`{ run = \"…\" }`) of the stage that needs it; otherwise run it before or after `stages build`",
                    ),
                );
            }
        }
    }

    /// `make TARGET` from a shell script: the Makefile's recipe is not read
    /// from here, so what it builds is not part of this migration.
    fn make(&mut self, command: &Simple, args: &[Arg]) {
        let targets: Vec<&str> = args[1..]
            .iter()
            .map(|a| a.text.as_str())
            .filter(|t| !t.starts_with('-') && !t.contains('='))
            .collect();
        let what = if targets.is_empty() {
            "the Makefile's first target".to_owned()
        } else {
            format!("`{}` of the Makefile", targets.join("`, `"))
        };
        self.warn(
            Diagnostic::warning(
                codes::NOT_MIGRATED,
                format!("this runs {what}; a shell script's migration does not read the Makefile"),
            )
            .with_label(Label::primary(command.span, "not migrated"))
            .with_help(
                "if the Makefile builds the images, migrate it (`stages migrate --script Makefile`); if the script's own commands need what it builds, move its `docker build` lines into the script and migrate again",
            ),
        );
    }

    fn assign(&mut self, name: &str, value: &super::shell::Word) {
        if let [Part::Subst { text, start }] = value.parts.as_slice() {
            let inner = Span::new(*start, start + text.len());
            if let Some(container) = self.create_in_substitution(inner) {
                self.env.set(name, Value::Known(container));
                return;
            }
            if text.trim() == "pwd" {
                self.env.set(name, Value::Known(self.cwd.clone()));
                return;
            }
        }
        let arg = self.env.expand(value);
        if arg.dynamic {
            self.env.set(name, Value::Dynamic);
            return;
        }
        let line = self.input.text[..value.span.start.min(self.input.text.len())]
            .matches('\n')
            .count()
            + 1;
        for part in &value.parts {
            if let Part::Var {
                name: used,
                default: Some(default),
                make: false,
            } = part
                && self.env.get(used).is_none()
            {
                self.plan.notes.push(format!(
                    "`{used}` is `{default}` unless the caller sets it (line {line}); the migration used `{default}`."
                ));
            }
        }
        if self.if_depth > 0 {
            self.plan.notes.push(format!(
                "`{name}` is set to `{}` under a condition (line {line}); the migration used that value.",
                arg.text
            ));
        }
        self.env.set(name, Value::Known(arg.text));
    }

    /// `ID=$(docker create image)` (or `$(docker run -d …)`): the
    /// container gets a made-up name the variable holds, so
    /// `docker cp "$ID":/x` finds it.
    fn create_in_substitution(&mut self, inner: Span) -> Option<String> {
        let pipelines = lex(self.input.text, inner, self.input.dialect);
        let [pipeline] = pipelines.as_slice() else {
            return None;
        };
        let [command] = pipeline.commands.as_slice() else {
            return None;
        };
        let args = self.expand_all(command);
        let (options, started) = match docker::recognize(&args) {
            DockerCommand::Create(create) => (create, false),
            DockerCommand::Run(run) if run.volumes.is_empty() => (run, true),
            _ => return None,
        };
        self.next_container += 1;
        let name = format!("container-{}", self.next_container);
        self.add_container(&name, options, started, command.span);
        Some(name)
    }

    fn cd(&mut self, args: &[Arg]) {
        let Some(target) = args.get(1) else {
            self.cwd = ".".to_owned();
            return;
        };
        if target.text.contains("dirname") {
            self.cwd = self.input.script_dir.clone();
        } else if target.is_static() {
            self.cwd = paths::join(&self.cwd, &target.text);
        } else {
            self.warn(
                Diagnostic::warning(
                    codes::DYNAMIC_VALUE,
                    "the script changes to a directory known only when it runs",
                )
                .with_label(Label::primary(target.span, "this directory"))
                .with_help(
                    "paths after it are read as relative to the project directory; check them",
                ),
            );
        }
    }

    /// `rm` of what the script copied out (or made room for) is cleaning up.
    /// `chmod MODE FILE…` where every file came out of an extraction.
    fn chmods_extracted_files(&self, args: &[Arg]) -> bool {
        let files: Vec<String> = args
            .iter()
            .skip(1)
            .filter(|a| !a.text.starts_with('-'))
            .skip(1)
            .map(|a| paths::join(&self.cwd, &a.text))
            .collect();
        !files.is_empty()
            && files.iter().all(|file| {
                self.plan
                    .extractions
                    .iter()
                    .any(|e| paths::is_within(file, &e.dest))
            })
    }

    fn check_removals(&mut self) {
        let removals = std::mem::take(&mut self.removals);
        for (path, span) in removals {
            let known = self
                .plan
                .extractions
                .iter()
                .map(|e| e.dest.as_str())
                .chain(self.mkdirs.iter().map(String::as_str))
                .any(|d| paths::is_within(&path, d) || paths::is_within(d, &path) && path != ".");
            let volume = self.plan.run_outputs.iter().any(|r| {
                r.volumes.iter().any(|v| {
                    v.value
                        .split(':')
                        .next()
                        .is_some_and(|h| paths::is_within(&paths::normalize(h), &path))
                })
            });
            if !known && !volume {
                self.warn(
                    Diagnostic::warning(
                        codes::NOT_MIGRATED,
                        format!("`rm {path}` removes a file the script did not copy out"),
                    )
                    .with_label(Label::primary(span, "not migrated"))
                    .with_help("if it cleaned up before a build, `.dockerignore` the path instead"),
                );
            }
        }
    }
}

fn command_mentions_docker(command: &Simple) -> bool {
    command.words.iter().any(|w| {
        w.literal()
            .is_some_and(|t| t == "docker" || t == "docker-compose")
    })
}

/// `app` and `app:latest` are the same image; `docker.io/library/x` is `x`.
pub fn normalize_image(image: &str) -> String {
    let image = image
        .strip_prefix("docker.io/library/")
        .or_else(|| image.strip_prefix("docker.io/"))
        .unwrap_or(image);
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || last.contains('@') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

#[cfg(test)]
mod tests;
