use super::Exit;
use crate::cli::{CacheLsArgs, CachePruneArgs};

pub fn ls(_args: CacheLsArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages cache ls` is not available yet"))
}

pub fn prune(_args: CachePruneArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages cache prune` is not available yet"))
}
