//! `stages completions SHELL`: shell completion scripts, from the clap definitions.

use clap::CommandFactory;

use super::Exit;
use crate::cli::{Cli, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> miette::Result<Exit> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "stages", &mut std::io::stdout());
    Ok(Exit::Success)
}
