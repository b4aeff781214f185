use super::Exit;
use crate::cli::GraphArgs;

pub fn run(_args: GraphArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages graph` is not available yet"))
}
