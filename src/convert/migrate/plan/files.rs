//! The commands that copy files out of an image: `docker cp` from a
//! created container, `docker run … cat`, tar pipes, and the `docker run`s
//! that only make files at run time or run a service.

use super::images::network_service;
use super::{Extraction, RunOutput, Walker};
use crate::convert::migrate::codes;
use crate::convert::migrate::docker::{self, DockerCommand};
use crate::convert::migrate::extract;
use crate::convert::migrate::paths;
use crate::convert::migrate::shell::Simple;
use crate::convert::migrate::words::Arg;
use crate::diagnostics::{Diagnostic, Label};
use crate::located::{Located, Span};

impl Walker<'_> {
    pub(super) fn cp(&mut self, span: Span, source: &Arg, dest: &Arg) {
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
    pub(super) fn is_directory(&self, path: &str, written: &str) -> bool {
        path == self.cwd
            || written == "."
            || written == ".."
            || self.mkdirs.iter().any(|d| d == path)
            || (self.input.is_dir)(path)
    }

    pub(super) fn run(&mut self, command: &Simple, run: &docker::Run, alone: bool) {
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
                workdir: run.workdir.as_ref().map(|w| w.text.clone()),
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

    pub(super) fn tar_pipe(&mut self, run_command: &Simple, unpack: &Simple) -> bool {
        let args = self.expand_all(run_command);
        let run = match docker::recognize(&args) {
            DockerCommand::Run(run) => run,
            DockerCommand::Cp { source, dest } if dest.text == "-" => {
                return self.cp_to_tar(run_command, &source, unpack);
            }
            _ => return false,
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

    /// `docker cp CONTAINER:PATH - | tar -x -C DIR`: PATH lands in DIR.
    fn cp_to_tar(&mut self, cp: &Simple, source: &Arg, unpack: &Simple) -> bool {
        let unpack_args = self.expand_all(unpack);
        let Some(into) = extract::untar_into(&unpack_args) else {
            return false;
        };
        let into_path = paths::join(&self.cwd, &into);
        self.mkdirs.push(into_path);
        let dest = Arg {
            text: into,
            span: unpack.span,
            unset: Vec::new(),
            dynamic: false,
        };
        self.cp(Span::new(cp.span.start, unpack.span.end), source, &dest);
        true
    }
}
