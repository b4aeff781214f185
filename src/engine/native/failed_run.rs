//! `stages build --debug`: what a failed RUN leaves for a shell in its
//! state — the image just before the command, the environment, workdir,
//! user and mounts it ran with, and the command itself as a script. The
//! build keeps the first such failure; the debug shell (`engine::debug`)
//! opens a container of it once the build has stopped.
//!
//! Build args and proxies go in the script as `export` lines, as the RUN
//! had them; secrets never do (they are passed to the container only), so
//! that a kept snapshot image holds no secret.

use std::path::PathBuf;
use std::sync::Arc;

use super::build::NativeBuild;
use super::engine_api::{MountSpec, StepEngine};
use super::mounts::PreparedMounts;
use super::run_step::{command_and_env, is_posix_shell};
use super::step_common::{StageState, StepRef};
use crate::config::forms::CommandForm;
use crate::located::Span;

/// Where the failed command is, as a script, in the debug container.
pub const FAILED_SCRIPT: &str = "/.stages-debug/failed.sh";

/// A RUN that exited non-zero, with everything needed to stand in its place.
#[derive(Debug, Clone)]
pub struct FailedRun {
    pub stage: String,
    /// The step's canonical text (`RUN make`).
    pub step: String,
    pub span: Span,
    pub exit_code: i64,
    /// The image the RUN started from.
    pub image: String,
    /// `NAME=value`, as the RUN's container had them (secrets aside).
    pub env: Vec<String>,
    /// Secrets given as environment variables: name, the file holding the value.
    pub secret_env: Vec<(String, PathBuf)>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub network_mode: Option<String>,
    pub mounts: Vec<DebugMount>,
    /// The shell the debug container opens (the stage's SHELL when it is a
    /// POSIX shell, else `/bin/sh`).
    pub shell: String,
    /// The content of `FAILED_SCRIPT`: runs the command exactly as the RUN did.
    pub script: String,
    pub project_id: String,
    pub build_id: String,
    /// The build's scratch directory, where copies for bind mounts are:
    /// kept alive as long as the failure is.
    pub workspace: Arc<tempfile::TempDir>,
}

/// A mount of the failed RUN, and where its content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugMount {
    pub spec: MountSpec,
    /// A bind of a copy the build made (of a stage's or the context's
    /// files), not of a file of the user's (a secret).
    pub build_copy: bool,
}

/// What `keep` needs of the failed RUN beyond the stage's state.
pub struct FailedCommand<'a> {
    pub command: &'a CommandForm,
    /// Build args and proxies: the step-only variables without secrets.
    pub step_env: &'a [(String, String)],
    pub prepared: &'a PreparedMounts,
    pub network_mode: Option<String>,
    pub exit_code: i64,
}

/// Keep the failure for `--debug` (the first one of the build only).
pub fn keep<E: StepEngine>(
    build: &NativeBuild<E>,
    state: &StageState,
    at: &StepRef,
    failed: &FailedCommand<'_>,
) {
    if !build.options.debug {
        return;
    }
    let (argv, env) = command_and_env(state, failed.command, failed.step_env);
    let workspace = build.workspace.path();
    let mounts = failed
        .prepared
        .specs
        .iter()
        .map(|spec| DebugMount {
            build_copy: matches!(spec, MountSpec::Bind { source, .. }
                if std::path::Path::new(source).starts_with(workspace)),
            spec: spec.clone(),
        })
        .collect();
    let shell = state
        .settings
        .shell
        .as_ref()
        .and_then(|words| words.first())
        .filter(|program| is_posix_shell(program))
        .cloned()
        .unwrap_or_else(|| "/bin/sh".to_owned());
    let run = FailedRun {
        stage: state.stage.clone(),
        step: at.text.clone(),
        span: at.span,
        exit_code: failed.exit_code,
        image: state.image.clone(),
        env,
        secret_env: failed.prepared.secret_env_files.clone(),
        workdir: (!state.settings.workdir.is_empty()).then(|| state.settings.workdir.clone()),
        user: (!state.settings.user.is_empty()).then(|| state.settings.user.clone()),
        network_mode: failed.network_mode.clone(),
        mounts,
        shell,
        script: script(&at.text, &argv),
        project_id: build.options.project_id.clone(),
        build_id: build.options.build_id.clone(),
        workspace: Arc::clone(&build.workspace),
    };
    build.keep_failed_run(run);
}

/// A script that runs `argv` (the RUN's own command line, shell included).
fn script(step: &str, argv: &[String]) -> String {
    let comment: String = step.lines().map(|line| format!("# {line}\n")).collect();
    let words: Vec<String> = argv.iter().map(|word| shell_word(word)).collect();
    format!(
        "#!/bin/sh\n# The command that failed, as the build ran it:\n{comment}exec {}\n",
        words.join(" ")
    )
}

/// `word` for a POSIX shell: as is when it is plain, else single-quoted.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_runs_the_exact_command_line() {
        let argv = vec![
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            "export V='1'\nmake it's".to_owned(),
        ];
        let text = script("RUN make it's", &argv);
        assert!(text.starts_with("#!/bin/sh\n"), "{text}");
        assert!(text.contains("# RUN make it's\n"), "{text}");
        assert!(
            text.ends_with("exec /bin/sh -c 'export V='\\''1'\\''\nmake it'\\''s'\n"),
            "{text}"
        );
    }

    #[test]
    fn plain_words_stay_unquoted() {
        assert_eq!(shell_word("/usr/bin/make"), "/usr/bin/make");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
    }
}
