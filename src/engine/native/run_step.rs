//! RUN: a container on the current image runs the command (shell form
//! through SHELL or `/bin/sh -c`, exec form as is) with the image's
//! environment, workdir and user, the build args for that step only, and
//! its mounts; its output streams to the observer; a zero exit is
//! committed.
//!
//! The Engine's commit copies every environment variable of the container
//! into the image. So that build args, proxies and `env=` secrets stay out
//! of the image, a POSIX shell gets them as `export` lines ahead of the
//! command instead; an exec-form RUN gets them in its environment, and
//! those values do reach the image's Env.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::build::{NativeBuild, StageFailure, StageOutput};
use super::early_fetch;
use super::engine_api::{ContainerSpec, MountSpec, OpError, StepEngine};
use super::failed_run::{self, FailedCommand};
use super::settings::command_argv;
use super::step_common::{StageState, StepRef, cached, commit};
use super::step_record::{self, StepInputs};
use super::{mount_values, mounts};
use crate::config::forms::CommandForm;
use crate::config::model::Run;

/// How much of a failing RUN's output the error repeats.
const TAIL_BYTES: usize = 2048;

/// `early`: the paths later stages copy out of the image this step makes
/// (`early_fetch`), to read while it is committed.
pub async fn run<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &mut StageState,
    at: &StepRef,
    run: &Run,
    inputs: &BTreeMap<String, StageOutput>,
    early: &[String],
) -> Result<(), StageFailure> {
    let args = state.scope.run_args();
    let run_mounts = mount_values::expand_mounts(&state.scope, &run.mounts)
        .map_err(|message| at.fail(state, message))?;
    let mount_keys = mounts::key_inputs(build, state, at, &run_mounts, inputs)?;
    let key = state.key(&at.text, args.clone(), mount_keys.clone());
    let found = cached(build, state, &key)
        .await
        .map_err(|e| at.fail(state, e))?;
    let recorded = StepInputs {
        args: args.clone(),
        other: mount_keys,
        ..StepInputs::default()
    };
    let reasons = step_record::note(build, state, at, &key, recorded, found.is_some());
    if let Some(image) = found {
        state.image = image;
        state.committed = state.settings.clone();
        build.observer.step_cached(&state.stage, at.index);
        return Ok(());
    }
    step_record::tell(build, &state.stage, at, &reasons);
    let prepared = mounts::prepare(build, state, at, &run_mounts, inputs).await?;
    let mut guards = Vec::new();
    for lock in &prepared.locks {
        guards.push(lock.clone().lock_owned().await);
    }
    if !prepared.secret_env.is_empty() && !exports_step_env(state, &run.command.value) {
        // In the container's environment the Engine's commit would keep it.
        return Err(at.fail(
            state,
            "a secret as an environment variable needs a shell-form run with a POSIX shell",
        ));
    }
    let mut step_env: Vec<(String, String)> = args;
    step_env.extend(state.scope.proxy_args());
    step_env.extend(prepared.secret_env.iter().cloned());
    // Secrets come last: a failure kept for `--debug` leaves them out.
    let (argv, container_env) = command_and_env(state, &run.command.value, &step_env);
    let network_mode = match run.network.as_ref().map(|n| n.value.as_str()) {
        Some("none") => Some("none".to_owned()),
        Some("host") => Some("host".to_owned()),
        _ => None,
    };
    let spec = ContainerSpec {
        image: state.image.clone(),
        // The command goes in the entrypoint: RUN ignores the image's
        // ENTRYPOINT, and the commit overrides it (while an unset CMD
        // would be filled from the container's).
        entrypoint: Some(argv),
        cmd: None,
        env: container_env,
        workdir: non_empty(&state.settings.workdir),
        user: non_empty(&state.settings.user),
        labels: build.container_labels(),
        mounts: prepared.specs.clone(),
        network_mode,
    };
    let spec_network = spec.network_mode.clone();
    let mount_targets: Vec<String> = prepared.specs.iter().map(mount_target).collect();
    // Mounted contents are not the image's, and a commit under
    // SOURCE_DATE_EPOCH rewrites times first.
    let early = if mount_targets.is_empty() && build.options.source_date_epoch.is_none() {
        early
    } else {
        &[]
    };
    let step = Step {
        key: &key,
        text: &at.text,
        mount_targets: &mount_targets,
        early,
    };
    let outcome = execute(build, state, spec, &step).await;
    drop(guards);
    match outcome {
        Ok(Ok(image)) => {
            state.image = image;
            state.committed = state.settings.clone();
            Ok(())
        }
        Ok(Err((code, tail))) => {
            step_record::failed(build, state, at);
            let failed = FailedCommand {
                command: &run.command.value,
                step_env: &step_env[..step_env.len() - prepared.secret_env.len()],
                prepared: &prepared,
                network_mode: spec_network,
                exit_code: code,
            };
            failed_run::keep(build, state, at, &failed);
            let tail = String::from_utf8_lossy(&tail);
            let mut message = format!("the command exited with code {code}");
            if !tail.trim().is_empty() {
                message.push_str(&format!("; its last output:\n{}", tail.trim_end()));
            }
            Err(at.fail(state, message))
        }
        Err(error) => Err(at.fail(state, error)),
    }
}

type RunResult = Result<String, (i64, Vec<u8>)>;

/// What the commit of a RUN needs besides its container.
struct Step<'a> {
    key: &'a str,
    text: &'a str,
    mount_targets: &'a [String],
    early: &'a [String],
}

/// Create, start, follow, wait, commit (reading `early` paths meanwhile);
/// the container is removed in any case.
async fn execute<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    spec: ContainerSpec,
    step: &Step<'_>,
) -> Result<RunResult, OpError> {
    let engine = &build.engine;
    let container = build.create_container(spec).await?;
    let outcome = async {
        engine.start_container(&container).await?;
        let mut tail: Vec<u8> = Vec::new();
        let mut logs = engine.logs(&container);
        while let Some(chunk) = logs.next().await {
            let chunk = chunk?;
            build.observer.output(&state.stage, &chunk);
            tail.extend_from_slice(&chunk);
            if tail.len() > TAIL_BYTES {
                tail.drain(..tail.len() - TAIL_BYTES);
            }
        }
        let code = engine.wait_container(&container).await?;
        if code != 0 {
            return Ok(Err((code, tail)));
        }
        let committed = commit(
            build,
            state,
            &container,
            step.key,
            step.text,
            step.mount_targets,
        );
        let early = async {
            if step.early.is_empty() {
                return None;
            }
            early_fetch::read(&**engine, &container, step.early)
                .await
                .ok()
        };
        let (image, early) = futures_util::future::join(committed, early).await;
        let image = image?;
        // A failed early read is left to the copy, which reads again and
        // reports what fails.
        if let Some(tars) = early {
            build.early.keep(&image, tars);
        }
        Ok(Ok(image))
    }
    .await;
    let removed = engine.remove_container(&container).await;
    let value = outcome?;
    removed?;
    Ok(value)
}

fn mount_target(spec: &MountSpec) -> String {
    match spec {
        MountSpec::Volume { target, .. }
        | MountSpec::Bind { target, .. }
        | MountSpec::Tmpfs { target, .. } => target.clone(),
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// The argv and the container environment of a RUN with step-only
/// variables `step_env`.
pub(super) fn command_and_env(
    state: &StageState,
    command: &CommandForm,
    step_env: &[(String, String)],
) -> (Vec<String>, Vec<String>) {
    let shell = state.settings.shell.as_deref();
    let mut argv = command_argv(command, shell);
    let mut env: Vec<String> = state
        .settings
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let posix = exports_step_env(state, command);
    let (exported, in_env): (Vec<_>, Vec<_>) = step_env
        .iter()
        .partition(|(name, _)| posix && is_shell_name(name));
    env.extend(in_env.iter().map(|(k, v)| format!("{k}={v}")));
    if !exported.is_empty()
        && let Some(script) = argv.last_mut()
    {
        let exports: Vec<String> = exported
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(v)))
            .collect();
        *script = format!("export {}\n{script}", exports.join(" "));
    }
    (argv, env)
}

/// Whether step-only variables go in as `export` lines (shell form run by
/// a POSIX shell) rather than in the container's environment.
fn exports_step_env(state: &StageState, command: &CommandForm) -> bool {
    let argv = command_argv(command, state.settings.shell.as_deref());
    matches!(command, CommandForm::Shell(_))
        && argv.first().is_some_and(|program| is_posix_shell(program))
}

/// The checker refuses what this reading cannot run, so both share it.
pub use crate::check::backend_native::is_posix_shell;

fn is_shell_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::native::engine_api::ImageSettings;
    use crate::engine::native::scope::StageScope;

    fn state(shell: Option<Vec<String>>) -> StageState {
        StageState {
            stage: "s".into(),
            image: "img".into(),
            settings: ImageSettings {
                env: vec![("PATH".into(), "/bin".into())],
                shell,
                ..ImageSettings::default()
            },
            committed: ImageSettings::default(),
            scope: StageScope::new(&Default::default(), &Default::default(), vec![]),
            workdirs: vec![],
            no_cache: false,
            source_date_epoch: None,
            sets_cmd: false,
        }
    }

    #[test]
    fn posix_shells_get_step_variables_as_exports() {
        let step_env = vec![
            ("VERSION".to_owned(), "1'2".to_owned()),
            ("odd-name".to_owned(), "x".to_owned()),
        ];
        let (argv, env) =
            command_and_env(&state(None), &CommandForm::Shell("make".into()), &step_env);
        assert_eq!(argv, ["/bin/sh", "-c", "export VERSION='1'\\''2'\nmake"]);
        assert_eq!(env, ["PATH=/bin", "odd-name=x"]);
    }

    #[test]
    fn other_shells_and_exec_form_get_them_in_the_environment() {
        let step_env = vec![("V".to_owned(), "1".to_owned())];
        let pwsh = Some(vec!["pwsh".to_owned(), "-c".to_owned()]);
        let (argv, env) = command_and_env(&state(pwsh), &CommandForm::Shell("x".into()), &step_env);
        assert_eq!(argv, ["pwsh", "-c", "x"]);
        assert_eq!(env, ["PATH=/bin", "V=1"]);
        let exec = CommandForm::Exec(vec!["make".into()]);
        let (argv, env) = command_and_env(&state(None), &exec, &step_env);
        assert_eq!(argv, ["make"]);
        assert_eq!(env, ["PATH=/bin", "V=1"]);
    }
}
