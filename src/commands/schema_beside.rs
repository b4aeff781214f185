//! The `#:schema` line of a stages.toml that `import` writes: it points at
//! a schema file that exists, so an editor can load it. An existing
//! `schema/stages.schema.json` (what `stages schema -o` suggests) or
//! `stages.schema.json` beside the file is used; otherwise the schema is
//! written beside the file.

use std::path::Path;

use super::common::write_atomic;
use crate::config::schema::schema_json;

const CANDIDATES: &[&str] = &["schema/stages.schema.json", "stages.schema.json"];

/// The schema line for a stages.toml written in `dir`, writing
/// `dir/stages.schema.json` when no schema is there yet.
pub fn schema_line_writing(dir: &Path) -> miette::Result<String> {
    if let Some(line) = schema_line_found(dir) {
        return Ok(line);
    }
    let path = dir.join(CANDIDATES[1]);
    write_atomic(&path, schema_json().as_bytes(), false)?;
    eprintln!("wrote {}", path.display());
    Ok(format!("#:schema ./{}", CANDIDATES[1]))
}

/// The schema line for a schema already in `dir`, if there is one.
pub fn schema_line_found(dir: &Path) -> Option<String> {
    CANDIDATES
        .iter()
        .find(|candidate| dir.join(candidate).is_file())
        .map(|candidate| format!("#:schema ./{candidate}"))
}

/// The directory a file written at `path` lives in.
pub fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}
