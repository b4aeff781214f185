use super::Exit;
use crate::cli::ImportArgs;

pub fn run(_args: ImportArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages import` is not available yet"))
}
