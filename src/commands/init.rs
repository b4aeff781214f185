use super::Exit;
use crate::cli::InitArgs;

pub fn run(_args: InitArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages init` is not available yet"))
}
