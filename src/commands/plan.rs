use super::Exit;
use crate::cli::PlanArgs;

pub fn run(_args: PlanArgs) -> miette::Result<Exit> {
    Err(miette::miette!("`stages plan` is not available yet"))
}
