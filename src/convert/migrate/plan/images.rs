//! The commands about images: `docker build` (Dockerfile, context, tags,
//! build args, flags), `docker tag`, `docker-compose`, and the look-up of
//! the build an image name refers to.

use super::{ArgValue, BuildArg, PlannedBuild, Walker, normalize_image};
use crate::convert::migrate::codes;
use crate::convert::migrate::docker::{self, DockerCommand};
use crate::convert::migrate::paths;
use crate::convert::migrate::shell::Simple;
use crate::convert::migrate::words::Arg;
use crate::diagnostics::{Diagnostic, Label};
use crate::located::{Located, Span};

impl Walker<'_> {
    pub(super) fn compose(&mut self, command: &Simple, args: &[Arg]) {
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

    pub(super) fn docker(&mut self, command: &Simple, args: &[Arg], alone: bool) {
        match docker::recognize(args) {
            DockerCommand::Build(build) => self.build(command.span, build),
            DockerCommand::Create(create) => match create.name.clone() {
                Some(name) => self.add_container(&name.text, create, false, command.span),
                None => {
                    if self.image_build(&create.image).is_none() {
                        self.unknown_image(&create.image);
                    }
                    self.warn(
                        Diagnostic::warning(
                            codes::NOT_MIGRATED,
                            "a container created without `--name` cannot be followed",
                        )
                        .with_label(Label::primary(command.span, "no --name"))
                        .with_help("give it a name (`--name extract`) or keep its id (`ID=$(docker create …)`) and migrate again"),
                    );
                }
            },
            DockerCommand::Start { names } => {
                for name in names {
                    self.start_named(&name.text, command.span);
                }
            }
            DockerCommand::Follow => {}
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

    pub(super) fn unknown_image(&mut self, image: &Arg) {
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
    pub(super) fn image_build(&self, image: &Arg) -> Option<usize> {
        let wanted = normalize_image(&image.text);
        self.plan
            .builds
            .iter()
            .rposition(|b| b.tags.iter().any(|t| normalize_image(&t.value) == wanted))
    }

    pub(super) fn build(&mut self, span: Span, build: docker::Build) {
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
            let name = flag.text.split('=').next().unwrap_or_default();
            let help = match name {
                "-o" | "--output" => {
                    "to get files on the host, declare them as `[artifacts.NAME]` (`stage`, `path`) and add an artifact target (`artifacts = [\"NAME\"]`, `output = \"dir/\"`): `stages build TARGET` writes them there"
                }
                "--push" => {
                    "push with `stages build --push`, which pushes the image target's tags once every target built"
                }
                _ => {
                    "pass the equivalent to `stages build`, or express it in the stage (platform, mounts)"
                }
            };
            self.warn(
                Diagnostic::warning(
                    codes::BUILD_FLAG,
                    format!(
                        "`{}` has no stages.toml form; it was not migrated",
                        flag.text
                    ),
                )
                .with_label(Label::primary(flag.span, "not migrated"))
                .with_help(help),
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

    pub(super) fn check_static(&mut self, arg: &Arg, what: &str) {
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

    pub(super) fn build_arg(&mut self, arg: &Arg) -> BuildArg {
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
}

pub(super) fn environment_value(arg: &Arg, what: &str) -> Diagnostic {
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

pub(super) fn network_service(span: Span) -> Diagnostic {
    Diagnostic::warning(
        codes::NETWORK_SERVICE,
        "this starts a service that later builds reach over the network",
    )
    .with_label(Label::primary(span, "not migrated"))
    .with_help(
        "a build should not fetch its own artifacts from a server the script started: produce them in a stage and copy them (`{ artifact = \"…\", to = \"…\" }`) or mount them (`mounts = [{ type = \"bind\", from = \"STAGE\", source = \"/dir\", target = \"/dir\" }]`)",
    )
}
