use super::Exit;
use crate::cli::CompletionsArgs;

pub fn run(_args: CompletionsArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages completions` is not available yet"))
}
