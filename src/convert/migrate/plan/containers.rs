//! The containers a script makes from its images and whether their
//! command ran: `docker create` (not yet), `docker run --name` and
//! `docker start` (it ran). Files copied out of a container that ran are
//! what its command made, so the command becomes a build step.

use super::images::network_service;
use super::{ContainerRun, Walker};
use crate::convert::migrate::codes;
use crate::convert::migrate::docker::Run;
use crate::diagnostics::{Diagnostic, Label};
use crate::located::Span;

/// A container made from an image.
#[derive(Debug, Clone)]
pub struct Container {
    /// The build of its image (`None`: not built here, already reported).
    pub build: Option<usize>,
    /// How it was made: the command, entrypoint, working directory, env.
    pub options: Run,
    /// Index into `Plan::container_runs` once its command ran.
    pub ran: Option<usize>,
}

/// A container whose command ran.
pub struct Started {
    pub run: usize,
    pub image: String,
    /// `docker run -d`: it keeps running.
    pub detach: bool,
}

impl Walker<'_> {
    /// Follows a container by name; `started` when its command runs now.
    pub(super) fn add_container(&mut self, name: &str, options: Run, started: bool, span: Span) {
        let build = self.image_build(&options.image);
        if build.is_none() {
            self.unknown_image(&options.image);
        }
        let mut container = Container {
            build,
            options,
            ran: None,
        };
        if started {
            self.start(&mut container, span);
        }
        self.containers.insert(name.to_owned(), container);
    }

    /// `docker start NAME`: a created container runs its command.
    pub(super) fn start_named(&mut self, name: &str, span: Span) {
        let Some(mut container) = self.containers.remove(name) else {
            self.warn(
                Diagnostic::warning(
                    codes::UNKNOWN_IMAGE,
                    format!("`{name}` is not a container this script creates"),
                )
                .with_label(Label::primary(span, "unknown container"))
                .with_help("create it above with `docker create --name NAME IMAGE` from an image the script builds"),
            );
            return;
        };
        self.start(&mut container, span);
        self.containers.insert(name.to_owned(), container);
    }

    fn start(&mut self, container: &mut Container, span: Span) {
        let Some(build) = container.build else {
            return;
        };
        container.ran = Some(self.record_run(build, &container.options, span));
    }

    /// The command a container of build `build` runs, made with `options`;
    /// returns its index in `Plan::container_runs`.
    pub(super) fn record_run(&mut self, build: usize, options: &Run, span: Span) -> usize {
        for arg in options
            .entrypoint
            .iter()
            .chain(&options.command)
            .chain(&options.workdir)
            .chain(&options.user)
        {
            self.check_static(arg, "this value");
        }
        let mut env = Vec::new();
        for arg in &options.env {
            match arg.text.split_once('=') {
                Some((name, value)) if arg.is_static() => env.push((name.to_owned(), value.to_owned())),
                _ => self.warn(
                    Diagnostic::warning(
                        codes::ENVIRONMENT_VALUE,
                        format!(
                            "`-e {}` passes a value from the caller's environment into the container",
                            arg.text
                        ),
                    )
                    .with_label(Label::primary(arg.span, "not migrated"))
                    .with_help("give it a value: an `{ env = { NAME = \"value\" } }` step before the command, or an `ARG` the target's `args` set"),
                ),
            }
        }
        let run = ContainerRun {
            build,
            entrypoint: options.entrypoint.as_ref().map(|e| e.text.clone()),
            command: options.command.iter().map(|a| a.text.clone()).collect(),
            workdir: options.workdir.as_ref().map(|w| w.text.clone()),
            env,
            user: options.user.as_ref().map(|u| u.text.clone()),
            capture: None,
            span,
        };
        self.plan.container_runs.push(run);
        let index = self.plan.container_runs.len() - 1;
        self.started.push(Started {
            run: index,
            image: options.image.text.clone(),
            detach: options.detach,
        });
        index
    }

    /// A container that ran but gave nothing the script copied out is a
    /// test or a service: nothing it did becomes part of an image.
    pub(super) fn check_started(&mut self) {
        let started = std::mem::take(&mut self.started);
        for started in started {
            if self
                .plan
                .extractions
                .iter()
                .any(|e| e.run == Some(started.run))
            {
                continue;
            }
            let span = self.plan.container_runs[started.run].span;
            let diagnostic = if started.detach {
                network_service(span)
            } else {
                container_run(&started.image, span)
            };
            self.warn(diagnostic);
        }
    }
}

/// `docker run` of a test or a tool: nothing it does becomes part of an image.
pub fn container_run(image: &str, span: Span) -> Diagnostic {
    Diagnostic::warning(
        codes::CONTAINER_RUN,
        format!("`docker run {image}` starts a container; nothing it does becomes part of an image"),
    )
    .with_label(Label::primary(span, "not migrated"))
    .with_help(format!(
        "if it is a test, run it after `stages build` (`docker run --rm {image}`); if it makes files a later build needs, turn its command into a step of that stage"
    ))
}
