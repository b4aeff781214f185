//! `stages build --debug` after a build failed: a shell in the state of
//! the RUN that failed, or, without a terminal, a kept snapshot of that
//! state and the `docker run` command that opens it (see docs/debug.md).
//!
//! The shell's container is attached with a terminal through the Engine's
//! API; the local terminal is in raw mode meanwhile, so Ctrl-C reaches the
//! shell. Leaving the shell, or a signal to `stages`, removes the container.

use std::io::Write;

use bollard::query_parameters::{AttachContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::Exit;
use super::debug_terminal::{RawMode, interactive, size};
use crate::cli::{Backend, BuildArgs};
use crate::engine::client::DockerEngine;
use crate::engine::native::debug_snapshot::{
    create_shell_container, docker_run_command, keep_snapshot,
};
use crate::engine::native::engine_api::{OpError, StepEngine};
use crate::engine::native::failed_run::{FAILED_SCRIPT, FailedRun};

/// `--debug` builds with the native back end: BuildKit gives no
/// container of a failed step through the Engine's API.
pub fn use_native_backend(args: &mut BuildArgs) -> miette::Result<()> {
    if !args.debug {
        return Ok(());
    }
    if !args.remote.builders.is_empty() {
        return Err(miette::miette!(
            help = "leave out --builder to debug on the Engine",
            "--debug opens its shell on the Engine: it cannot build with --builder"
        ));
    }
    if args.backend != Backend::Native {
        eprintln!(
            "backend: native (--debug: BuildKit gives no container of a failed step; see docs/debug.md)"
        );
        args.backend = Backend::Native;
    }
    Ok(())
}

/// After a failed build: open the shell (or keep the snapshot) for the
/// RUN that failed, if one did. The build failed, so the exit says so
/// unless `stages` was stopped meanwhile.
pub async fn after_failure(engine: &DockerEngine, failed: Option<FailedRun>) -> Exit {
    let Some(run) = failed else {
        eprintln!(
            "debug: no RUN failed (the build failed elsewhere), so there is no shell to open"
        );
        return Exit::Failure;
    };
    eprintln!(
        "debug: stage `{}`: `{}` exited with code {}",
        run.stage,
        run.step.lines().next().unwrap_or_default(),
        run.exit_code
    );
    let outcome = if interactive() {
        shell(engine, &run).await
    } else {
        snapshot(engine, &run).await
    };
    match outcome {
        Ok(exit) => exit,
        Err(error) => {
            // The Engine answering with an error is not the Engine gone.
            let unanswered = error.source.as_deref().is_some_and(|source| {
                !matches!(
                    source,
                    bollard::errors::Error::DockerResponseServerError { .. }
                )
            });
            let hint = if unanswered {
                format!(" (the Engine at {} did not answer)", engine.address())
            } else {
                String::new()
            };
            eprintln!("error: debug: {error}{hint}");
            Exit::Failure
        }
    }
}

/// No terminal: keep the state as an image and say how to open it.
async fn snapshot(engine: &DockerEngine, run: &FailedRun) -> Result<Exit, OpError> {
    let tag = keep_snapshot(engine, run).await?;
    eprintln!(
        "debug: stdin is not a terminal, so no shell was opened; the state just before the \
         command is kept as image {tag}; open a shell in it with:"
    );
    eprintln!("  {}", docker_run_command(run, &tag));
    eprintln!(
        "debug: in it, {FAILED_SCRIPT} runs the failed command as the build did; \
         `stages cache prune` removes the image"
    );
    Ok(Exit::Failure)
}

/// A shell in a container of the state, until it exits or `stages` is
/// told to stop; the container goes in any case.
async fn shell(engine: &DockerEngine, run: &FailedRun) -> Result<Exit, OpError> {
    // Listening before the container exists: a signal from now on removes it.
    let signals = Signals::new().map_err(|e| OpError::new("signals", e.to_string()))?;
    let container = create_shell_container(engine, run).await?;
    eprintln!(
        "debug: a shell ({}) in the state just before the command: its image, environment, \
         workdir, user and mounts",
        run.shell
    );
    eprintln!(
        "debug: {FAILED_SCRIPT} runs the failed command again; `exit` leaves and removes the \
         container"
    );
    let outcome = drive(engine, &container, signals).await;
    let removed = engine.remove_container(&container).await;
    let exit = outcome?;
    removed?;
    Ok(exit)
}

async fn drive(
    engine: &DockerEngine,
    container: &str,
    mut signals: Signals,
) -> Result<Exit, OpError> {
    let docker = engine.docker();
    let options = AttachContainerOptionsBuilder::new()
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .stream(true)
        .build();
    let mut attached = docker
        .attach_container(container, Some(options))
        .await
        .map_err(|e| OpError::from_bollard("attach to the debug container", e))?;
    engine.start_container(container).await?;
    resize(engine, container).await;
    let raw = RawMode::enter().map_err(|e| OpError::new("raw mode", e.to_string()))?;
    let mut keys = stdin_keys();
    let mut stdout = std::io::stdout();
    let stopped = loop {
        tokio::select! {
            output = attached.output.next() => match output {
                Some(Ok(output)) => {
                    let _ = stdout.write_all(&output.into_bytes());
                    let _ = stdout.flush();
                }
                Some(Err(error)) => {
                    drop(raw);
                    return Err(OpError::from_bollard("the debug shell's output", error));
                }
                None => break false,
            },
            Some(bytes) = keys.recv() => {
                let sent = attached.input.write_all(&bytes).await;
                let flushed = attached.input.flush().await;
                if sent.and(flushed).is_err() {
                    break false;
                }
            }
            signal = signals.next() => match signal {
                Signal::Resize => resize(engine, container).await,
                Signal::Stop => break true,
            },
        }
    };
    drop(raw);
    if stopped {
        eprintln!("\r\ninterrupted: removing the debug container");
        return Ok(Exit::Interrupted);
    }
    let code = engine.wait_container(container).await.unwrap_or(0);
    eprintln!("debug: the shell exited with code {code}; the debug container is removed");
    Ok(Exit::Failure)
}

/// The container's terminal takes the local one's size (best effort).
async fn resize(engine: &DockerEngine, container: &str) {
    if let Some((rows, columns)) = size() {
        let options = ResizeContainerTTYOptionsBuilder::new()
            .h(i32::from(rows))
            .w(i32::from(columns))
            .build();
        let _ = engine
            .docker()
            .resize_container_tty(container, options)
            .await;
    }
}

/// What is typed, as it comes. A thread of its own, not the runtime's
/// blocking pool: a read of stdin cannot be cancelled, and the process
/// must not wait for one at exit.
fn stdin_keys() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        use std::io::Read;
        let mut stdin = std::io::stdin();
        let mut buffer = [0u8; 4096];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender.blocking_send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    receiver
}

enum Signal {
    /// The window changed size.
    Resize,
    /// `stages` is told to stop (SIGTERM, SIGHUP, or SIGINT from outside:
    /// a Ctrl-C typed goes to the shell as a key).
    Stop,
}

#[cfg(unix)]
struct Signals {
    resize: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            resize: signal(SignalKind::window_change())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.resize.recv() => Signal::Resize,
            _ = self.terminate.recv() => Signal::Stop,
            _ = self.hangup.recv() => Signal::Stop,
            _ = self.interrupt.recv() => Signal::Stop,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop
    }
}
