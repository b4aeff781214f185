use super::Exit;
use crate::cli::{DockerfileFileArg, FmtArgs, OutlineArgs};

pub fn dump(_args: DockerfileFileArg) -> miette::Result<Exit> {
    Err(miette::miette!(
        "`stages dockerfile dump` is not available yet"
    ))
}

pub fn outline(_args: OutlineArgs) -> miette::Result<Exit> {
    Err(miette::miette!(
        "`stages dockerfile outline` is not available yet"
    ))
}

pub fn fmt(_args: FmtArgs) -> miette::Result<Exit> {
    Err(miette::miette!(
        "`stages dockerfile fmt` is not available yet"
    ))
}
