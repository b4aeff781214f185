use super::Exit;
use crate::cli::CheckArgs;

pub fn run(_args: CheckArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages check` is not available yet"))
}
