use super::Exit;
use crate::cli::BuildArgs;

pub fn run(_args: BuildArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages build` is not available yet"))
}
