use super::Exit;
use crate::cli::SchemaArgs;

pub fn run(_args: SchemaArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages schema` is not available yet"))
}
