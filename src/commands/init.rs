//! `stages init`: write a commented starter stages.toml (never over an
//! existing one without `--force`).

use miette::IntoDiagnostic;

use super::Exit;
use super::common::{CONFIG_NAME, write_atomic};
use crate::cli::InitArgs;

/// The starter file; it passes `stages check` with no warning.
pub const TEMPLATE: &str = include_str!("init_template.toml");

pub fn run(args: InitArgs) -> miette::Result<Exit> {
    std::fs::create_dir_all(&args.dir).into_diagnostic()?;
    let path = args.dir.join(CONFIG_NAME);
    write_atomic(&path, TEMPLATE.as_bytes(), args.force)?;
    println!("wrote {}", path.display());
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::diagnostics::SourceFile;

    #[test]
    fn the_template_is_clean() {
        let outcome = check(&SourceFile::new("stages.toml", super::TEMPLATE));
        assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);
        assert!(outcome.project.is_some());
    }
}
