use super::Exit;
use crate::cli::MigrateArgs;

pub fn run(_args: MigrateArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages migrate` is not available yet"))
}
