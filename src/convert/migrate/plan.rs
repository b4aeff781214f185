//! The plan: walking the script in order, with its variables and working
//! directory, and keeping what matters for the build — the images it
//! builds (Dockerfile, context, tags, build args), the files it copies out
//! of them, and the `docker run`s whose output appears only at run time.
//! Every command it does not translate becomes a warning on its span.

use std::collections::HashMap;

use super::codes;
use super::docker::{self, DockerCommand};
use super::extract;
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
}

/// `docker run -v host:container image`: files written at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    pub build: Option<usize>,
    pub image: String,
    /// The command given after the image (empty: the image's CMD runs).
    pub command: Vec<String>,
    pub volumes: Vec<Located<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub builds: Vec<PlannedBuild>,
    pub extractions: Vec<Extraction>,
    pub run_outputs: Vec<RunOutput>,
    /// Warnings (and errors) on the script.
    pub diagnostics: Vec<Diagnostic>,
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
        cwd: ".".to_owned(),
        containers: HashMap::new(),
        mkdirs: Vec::new(),
        removals: Vec::new(),
        region: None,
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
    /// Container name → (build, image as written).
    containers: HashMap<String, (Option<usize>, String)>,
    mkdirs: Vec<String>,
    removals: Vec<(String, Span)>,
    region: Option<Region>,
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
            "docker" => self.docker(&command, &args, alone),
            "docker-compose" => self.compose(&command, &args),
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
        } else {
            self.env.set(name, Value::Known(arg.text));
        }
    }

    /// `ID=$(docker create image)`: the container gets a made-up name the
    /// variable holds, so `docker cp "$ID":/x` finds it.
    fn create_in_substitution(&mut self, inner: Span) -> Option<String> {
        let pipelines = lex(self.input.text, inner, self.input.dialect);
        let [pipeline] = pipelines.as_slice() else {
            return None;
        };
        let [command] = pipeline.commands.as_slice() else {
            return None;
        };
        let args = self.expand_all(command);
        let DockerCommand::Create(create) = docker::recognize(&args) else {
            return None;
        };
        self.next_container += 1;
        let name = format!("container-{}", self.next_container);
        let build = self.image_build(&create.image);
        self.containers
            .insert(name.clone(), (build, create.image.text.clone()));
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

    fn compose(&mut self, command: &Simple, args: &[Arg]) {
        let starts = args
            .iter()
            .any(|a| matches!(a.text.as_str(), "up" | "start" | "run"));
        if starts {
            self.warn(network_service(command.span));
        } else {
            self.warn(
                Diagnostic::warning(
                    codes::NOT_MIGRATED,
                    "`docker-compose` is not part of an image build; it was not migrated",
                )
                .with_label(Label::primary(command.span, "not migrated"))
                .with_help("run it before or after `stages build`"),
            );
        }
    }

    fn docker(&mut self, command: &Simple, args: &[Arg], alone: bool) {
        match docker::recognize(args) {
            DockerCommand::Build(build) => self.build(command.span, build),
            DockerCommand::Create(create) => {
                let build = self.image_build(&create.image);
                if build.is_none() {
                    self.unknown_image(&create.image);
                }
                match create.name {
                    Some(name) => {
                        self.containers
                            .insert(name.text.clone(), (build, create.image.text.clone()));
                    }
                    None => self.warn(
                        Diagnostic::warning(
                            codes::NOT_MIGRATED,
                            "a container created without `--name` cannot be followed",
                        )
                        .with_label(Label::primary(command.span, "no --name"))
                        .with_help("give it a name (`--name extract`) or keep its id (`ID=$(docker create …)`) and migrate again"),
                    ),
                }
            }
            DockerCommand::Cp { source, dest } => self.cp(command.span, &source, &dest),
            DockerCommand::Remove => {}
            DockerCommand::Tag { source, tag } => match self.image_build(&source) {
                Some(build) => self.plan.builds[build]
                    .tags
                    .push(Located::new(tag.text.clone(), tag.span)),
                None => self.unknown_image(&source),
            },
            DockerCommand::Run(run) => self.run(command, &run, alone),
            DockerCommand::Other { what } => {
                let help = match what.as_str() {
                    "docker push" => "push the image target's tags after `stages build`",
                    "docker login" | "docker logout" => {
                        "log in before `stages build` pushes or pulls"
                    }
                    _ => "run it before or after `stages build` if it is still needed",
                };
                self.warn(
                    Diagnostic::warning(
                        codes::NOT_MIGRATED,
                        format!("`{what}` is not part of an image build; it was not migrated"),
                    )
                    .with_label(Label::primary(command.span, "not migrated"))
                    .with_help(help),
                );
            }
        }
    }

    fn unknown_image(&mut self, image: &Arg) {
        self.warn(
            Diagnostic::warning(
                codes::UNKNOWN_IMAGE,
                format!("`{}` is not an image this script builds", image.text),
            )
            .with_label(Label::primary(image.span, "not built above"))
            .with_help("if it comes from a registry, copy from it with `{ copy = \"/path\", from-image = \"…\", to = \"…\" }`"),
        );
    }

    /// The latest build tagged `image` so far.
    fn image_build(&self, image: &Arg) -> Option<usize> {
        let wanted = normalize_image(&image.text);
        self.plan
            .builds
            .iter()
            .rposition(|b| b.tags.iter().any(|t| normalize_image(&t.value) == wanted))
    }

    fn build(&mut self, span: Span, build: docker::Build) {
        let Some(context) = build.context.clone() else {
            self.warn(
                Diagnostic::warning(
                    codes::EXTERNAL_CONTEXT,
                    "this build names no context; it was left out",
                )
                .with_label(Label::primary(span, "no context directory"))
                .with_help("give the context (`.`) and migrate again"),
            );
            return;
        };
        if context.text == "-" || context.text.contains("://") || context.text.starts_with("git@") {
            self.warn(
                Diagnostic::warning(
                    codes::EXTERNAL_CONTEXT,
                    "the build context is not a directory of this project; this build was left out",
                )
                .with_label(Label::primary(context.span, "not a local directory"))
                .with_help("stages builds from the project's directory: clone or unpack the context into it"),
            );
            return;
        }
        for arg in std::iter::once(&context).chain(build.file.iter()) {
            self.check_static(arg, "this path");
        }
        let context_dir = paths::join(&self.cwd, &context.text);
        let (dockerfile, dockerfile_span) = match &build.file {
            Some(file) => (paths::join(&self.cwd, &file.text), file.span),
            None => (paths::join(&context_dir, "Dockerfile"), span),
        };
        let mut tags = Vec::new();
        for tag in &build.tags {
            self.check_static(tag, "this tag");
            tags.push(Located::new(tag.text.clone(), tag.span));
        }
        let args = build.args.iter().map(|a| self.build_arg(a)).collect();
        for flag in &build.unsupported {
            self.warn(
                Diagnostic::warning(
                    codes::BUILD_FLAG,
                    format!("`{}` has no stages.toml form; it was not migrated", flag.text),
                )
                .with_label(Label::primary(flag.span, "not migrated"))
                .with_help("pass the equivalent to `stages build`, or express it in the stage (platform, mounts)"),
            );
        }
        let target = build
            .target
            .as_ref()
            .map(|t| Located::new(t.text.clone(), t.span));
        self.plan.builds.push(PlannedBuild {
            dockerfile,
            dockerfile_span,
            context: context_dir,
            tags,
            args,
            target,
            no_cache: build.no_cache,
            span,
            order: self.next_order(),
        });
    }

    fn check_static(&mut self, arg: &Arg, what: &str) {
        if arg.dynamic {
            self.warn(
                Diagnostic::warning(
                    codes::DYNAMIC_VALUE,
                    format!("`{}` is computed when the script runs", arg.text),
                )
                .with_label(Label::primary(
                    arg.span,
                    format!("{what} is not known before"),
                ))
                .with_help("replace it with its value in stages.toml"),
            );
        } else if !arg.unset.is_empty() {
            self.warn(environment_value(arg, what));
        }
    }

    fn build_arg(&mut self, arg: &Arg) -> BuildArg {
        let (name, value) = match arg.text.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.text.clone(), None),
        };
        let own_variable = format!("${{{name}}}");
        let value = match value {
            Some(v) if v == own_variable && !arg.dynamic => ArgValue::Environment,
            Some(v) => {
                if arg.dynamic {
                    self.warn(
                        Diagnostic::warning(
                            codes::DYNAMIC_VALUE,
                            format!("the value of `{name}` is computed when the script runs"),
                        )
                        .with_label(Label::primary(arg.span, "known only when the script runs"))
                        .with_help(format!(
                            "give it a fixed value in the target's `args`, or pass it with `stages build --build-arg {name}=…`"
                        )),
                    );
                    return BuildArg {
                        name,
                        value: ArgValue::Dynamic,
                        span: arg.span,
                    };
                }
                if !arg.unset.is_empty() {
                    self.warn(environment_value(arg, "this value"));
                }
                ArgValue::Literal(v)
            }
            None => ArgValue::Environment,
        };
        BuildArg {
            name,
            value,
            span: arg.span,
        }
    }

    fn cp(&mut self, span: Span, source: &Arg, dest: &Arg) {
        if let Some((container, _)) = dest.text.split_once(':')
            && self.containers.contains_key(container)
        {
            self.warn(
                Diagnostic::warning(
                    codes::COPY_INTO_CONTAINER,
                    "copying files into a container has no stages.toml form",
                )
                .with_label(Label::primary(span, "not migrated"))
                .with_help("add the files with a `{ copy = \"…\", to = \"…\" }` step in the stage that needs them"),
            );
            return;
        }
        let Some((container, path)) = source.text.split_once(':') else {
            self.warn(
                Diagnostic::warning(
                    codes::NOT_MIGRATED,
                    "this `docker cp` copies nothing out of a container",
                )
                .with_label(Label::primary(source.span, "no `container:path`"))
                .with_help("write it as `docker cp CONTAINER:PATH DEST`"),
            );
            return;
        };
        let Some((build, _)) = self.containers.get(container).cloned() else {
            self.warn(
                Diagnostic::warning(
                    codes::UNKNOWN_IMAGE,
                    format!("`{container}` is not a container this script creates"),
                )
                .with_label(Label::primary(source.span, "unknown container"))
                .with_help("create it above with `docker create --name NAME IMAGE` from an image the script builds"),
            );
            return;
        };
        let Some(build) = build else {
            // Already reported at `docker create`.
            return;
        };
        self.check_static(source, "this path");
        self.check_static(dest, "this path");
        let (path, contents) = match path.strip_suffix("/.") {
            Some(dir) => (dir.to_owned(), true),
            None => (path.to_owned(), false),
        };
        // `docker cp` reads relative paths from the container's root.
        let path = paths::normalize(&format!("/{}", path.trim_start_matches('/')));
        let dest_path = paths::join(&self.cwd, &dest.text);
        let into = !contents && self.is_directory(&dest_path, &dest.text);
        let dest_path = if into {
            paths::join(&dest_path, paths::file_name(&path))
        } else {
            dest_path
        };
        self.plan.extractions.push(Extraction {
            build,
            path,
            dest: dest_path,
            span,
            order: self.next_order(),
        });
    }

    /// A destination `docker cp` copies into (rather than creates).
    fn is_directory(&self, path: &str, written: &str) -> bool {
        path == self.cwd
            || written == "."
            || written == ".."
            || self.mkdirs.iter().any(|d| d == path)
            || (self.input.is_dir)(path)
    }

    fn run(&mut self, command: &Simple, run: &docker::Run, alone: bool) {
        let build = self.image_build(&run.image);
        let stdout = command
            .redirects
            .iter()
            .find(|r| r.is_stdout_to_file())
            .and_then(|r| r.target.as_ref());
        if let (Some(target), Some(path), true) = (stdout, extract::cat_path(run), alone) {
            let dest = self.env.expand(target);
            match build {
                Some(build) => {
                    let order = self.next_order();
                    self.plan.extractions.push(Extraction {
                        build,
                        path,
                        dest: paths::join(&self.cwd, &dest.text),
                        span: command.span,
                        order,
                    });
                }
                None => self.unknown_image(&run.image),
            }
            return;
        }
        if run.detach {
            self.warn(network_service(command.span));
            return;
        }
        if !run.volumes.is_empty() {
            self.plan.run_outputs.push(RunOutput {
                build,
                image: run.image.text.clone(),
                command: run
                    .entrypoint
                    .iter()
                    .chain(&run.command)
                    .map(|a| a.text.clone())
                    .collect(),
                volumes: run
                    .volumes
                    .iter()
                    .map(|v| Located::new(v.text.clone(), v.span))
                    .collect(),
                span: command.span,
            });
            return;
        }
        self.warn(
            Diagnostic::warning(
                codes::CONTAINER_RUN,
                format!(
                    "`docker run {}` starts a container; nothing it does becomes part of an image",
                    run.image.text
                ),
            )
            .with_label(Label::primary(command.span, "not migrated"))
            .with_help(format!(
                "if it is a test, run it after `stages build` (`docker run --rm {}`); if it makes files a later build needs, turn its command into a step of that stage",
                run.image.text
            )),
        );
    }

    fn tar_pipe(&mut self, run_command: &Simple, unpack: &Simple) -> bool {
        let args = self.expand_all(run_command);
        let DockerCommand::Run(run) = docker::recognize(&args) else {
            return false;
        };
        let unpack_args = self.expand_all(unpack);
        let Some((pulled, into)) = extract::tar_pipe(&run, &unpack_args) else {
            return false;
        };
        let Some(build) = self.image_build(&run.image) else {
            self.unknown_image(&run.image);
            return true;
        };
        let into = paths::join(&self.cwd, &into);
        let span = Span::new(run_command.span.start, unpack.span.end);
        for item in pulled {
            let order = self.next_order();
            self.plan.extractions.push(Extraction {
                build,
                path: item.path,
                dest: paths::join(&into, &item.dest),
                span,
                order,
            });
        }
        true
    }

    /// `rm` of what the script copied out (or made room for) is cleaning up.
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

fn environment_value(arg: &Arg, what: &str) -> Diagnostic {
    let names: Vec<String> = arg.unset.iter().map(|n| format!("`${n}`")).collect();
    Diagnostic::warning(
        codes::ENVIRONMENT_VALUE,
        format!(
            "{} {} set by the script: the value comes from the caller's environment",
            names.join(", "),
            if names.len() == 1 { "is not" } else { "are not" }
        ),
    )
    .with_label(Label::primary(arg.span, format!("{what} depends on it")))
    .with_help("it is kept as `${NAME}` in stages.toml: replace it with a value, or declare the name as a build arg")
}

fn network_service(span: Span) -> Diagnostic {
    Diagnostic::warning(
        codes::NETWORK_SERVICE,
        "this starts a service that later builds reach over the network",
    )
    .with_label(Label::primary(span, "not migrated"))
    .with_help(
        "a build should not fetch its own artifacts from a server the script started: produce them in a stage and copy them (`{ artifact = \"…\", to = \"…\" }`) or mount them (`mounts = [{ type = \"bind\", from = \"STAGE\", source = \"/dir\", target = \"/dir\" }]`)",
    )
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
