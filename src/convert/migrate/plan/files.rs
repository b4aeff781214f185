//! The commands that copy files out of an image: `docker cp` from a
//! created container, `docker run … cat`, tar pipes, and the `docker run`s
//! that only make files at run time or run a service.

/// Where a build step unpacks what a piped command wrote (one directory
/// per host directory), so that it can be copied out as an artifact.
pub const UNPACK_ROOT: &str = "/stages-output";

use super::containers::{Container, container_run};
use super::images::network_service;
use super::{Capture, Extraction, RunOutput, Walker};
use crate::convert::migrate::codes;
use crate::convert::migrate::docker::{self, DockerCommand};
use crate::convert::migrate::extract;
use crate::convert::migrate::naming;
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
        let Some((build, ran)) = self.containers.get(container).map(|c| (c.build, c.ran)) else {
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
            run: ran,
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
            .and_then(|r| r.target.as_ref())
            .filter(|t| t.literal().is_none_or(|l| !l.starts_with("/dev/")));
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
                        run: None,
                    });
                }
                None => self.unknown_image(&run.image),
            }
            return;
        }
        if let (Some(target), Some(build), true, true, true) =
            (stdout, build, alone, run.volumes.is_empty(), !run.detach)
        {
            // `docker run IMAGE COMMAND > FILE`: the command runs as a
            // build step writing FILE inside the image.
            let dest = self.env.expand(target);
            self.check_static(&dest, "this path");
            let dest = paths::join(&self.cwd, &dest.text);
            let name = paths::file_name(&dest).to_owned();
            let file = format!("{UNPACK_ROOT}/{name}");
            let index = self.record_run(build, run, command.span);
            self.plan.container_runs[index].capture = Some(Capture::File { file: file.clone() });
            let order = self.next_order();
            self.plan.extractions.push(Extraction {
                build,
                path: file,
                dest,
                span: command.span,
                order,
                run: Some(index),
            });
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
            if let Some(name) = &run.name {
                // Its files depend on the mounted directory: a copy out of
                // it is reported with the run-time output, not migrated.
                self.containers.insert(
                    name.text.clone(),
                    Container {
                        build: None,
                        options: run.clone(),
                        ran: None,
                    },
                );
            }
            return;
        }
        if let Some(name) = &run.name {
            // What is copied out of it later is what its command made.
            self.add_container(&name.text, run.clone(), true, command.span);
            return;
        }
        if run.detach {
            self.warn(network_service(command.span));
            return;
        }
        self.warn(container_run(&run.image.text, command.span));
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
            return self.command_to_tar(run_command, &run, unpack);
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
                run: None,
            });
        }
        true
    }

    /// `docker run IMAGE COMMAND | tar -x -C DIR` where COMMAND is not a
    /// `tar -c` of listed paths (`sh -c "find … | xargs tar -c"`, the
    /// image's own command): the same command runs as a build step that
    /// unpacks its output into a directory of the image, and that
    /// directory lands in DIR.
    fn command_to_tar(&mut self, run_command: &Simple, run: &docker::Run, unpack: &Simple) -> bool {
        let unpack_args = self.expand_all(unpack);
        let Some(untar) = extract::untar(&unpack_args) else {
            return false;
        };
        if run.detach || !run.volumes.is_empty() {
            return false;
        }
        let Some(build) = self.image_build(&run.image) else {
            self.unknown_image(&run.image);
            return true;
        };
        let span = Span::new(run_command.span.start, unpack.span.end);
        let into = paths::join(&self.cwd, &untar.into);
        self.mkdirs.push(into.clone());
        let name = naming::sanitize(paths::file_name(&into));
        let name = if name.is_empty() {
            "files".to_owned()
        } else {
            name
        };
        let dir = format!("{UNPACK_ROOT}/{name}");
        let index = self.record_run(build, run, span);
        self.plan.container_runs[index].capture = Some(Capture::Untar {
            dir: dir.clone(),
            compression: untar.compression,
        });
        let order = self.next_order();
        self.plan.extractions.push(Extraction {
            build,
            path: dir,
            dest: into,
            span,
            order,
            run: Some(index),
        });
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
