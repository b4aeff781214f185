//! `stages completions SHELL`: the shell code that asks `stages` itself
//! for completions (clap_complete's dynamic completion, answered in `main`
//! when `COMPLETE` is set), so target and stage names come from the
//! stages.toml of the directory the shell is in.

use clap_complete::Shell;
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use super::Exit;
use crate::cli::CompletionsArgs;

/// The environment variable that switches `stages` into answering completions.
pub const COMPLETE_VAR: &str = "COMPLETE";

pub fn run(args: CompletionsArgs) -> miette::Result<Exit> {
    let mut out = std::io::stdout().lock();
    registration(args.shell, &mut out)
        .map_err(|error| miette::miette!("cannot write the completion script: {error}"))?;
    Ok(Exit::Success)
}

/// Writes the script that registers `stages` with `shell`.
pub fn registration(shell: Shell, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Elvish => &Elvish,
        Shell::Fish => &Fish,
        Shell::PowerShell => &Powershell,
        Shell::Zsh => &Zsh,
        _ => &Bash,
    };
    completer.write_registration(COMPLETE_VAR, "stages", "stages", "stages", out)
}
