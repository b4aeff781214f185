//! Writing generated files: atomically (a temporary file in the same
//! directory, then a rename), never over a file the user wrote unless
//! forced; and printing diagnostics on standard error.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::diagnostics::{Diagnostic, SourceFile, Style, render_human};

/// Writes `text` to `path` so that readers see the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, text: &str) -> miette::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| miette::miette!("cannot create a temporary file in {}: {e}", dir.display()))?;
    temp.write_all(text.as_bytes())
        .and_then(|()| temp.flush())
        .map_err(|e| miette::miette!("cannot write {}: {e}", path.display()))?;
    temp.persist(path)
        .map_err(|e| miette::miette!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

/// Prints diagnostics on standard error, in colour on a terminal.
pub fn report(file: &SourceFile, diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    let style = if std::io::stderr().is_terminal() {
        Style::Color
    } else {
        Style::Plain
    };
    eprint!("{}", render_human(file, diagnostics, style));
}

/// True when `path` is standard output (`-`).
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}
