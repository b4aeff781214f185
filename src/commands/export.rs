use super::Exit;
use crate::cli::ExportArgs;

pub fn run(_args: ExportArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages export` is not available yet"))
}
