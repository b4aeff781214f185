//! `stages schema`: print (or write, atomically) the JSON Schema of stages.toml.

use super::Exit;
use super::common::write_atomic;
use crate::cli::SchemaArgs;
use crate::config::schema::schema_json;

pub fn run(args: SchemaArgs) -> miette::Result<Exit> {
    let text = schema_json();
    match &args.output {
        Some(path) if path.as_os_str() != "-" => {
            write_atomic(path, text.as_bytes(), args.force)?;
            if !super::output::settings().quiet {
                eprintln!("wrote {}", path.display());
            }
        }
        _ => print!("{text}"),
    }
    Ok(Exit::Success)
}
