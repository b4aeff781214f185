//! `stages import`: a Dockerfile (or standard input, `-`) becomes a
//! stages.toml that passes `stages check`; nothing is written when
//! anything cannot be converted.

use std::path::Path;

use super::Exit;
use super::common::{print_diagnostics as report, write_atomic};
use super::schema_beside::{directory_of, schema_line_found, schema_line_writing};
use crate::check::check;
use crate::cli::ImportArgs;
use crate::config::write::{WriteOptions, write_project};
use crate::convert::{ImportOptions, import_dockerfile_source};
use crate::diagnostics::SourceFile;
use crate::dockerfile::parse;

pub fn run(args: ImportArgs) -> miette::Result<Exit> {
    let from_stdin = args.dockerfile == Path::new("-");
    let shown = if from_stdin {
        "standard input".to_owned()
    } else {
        args.dockerfile.display().to_string()
    };
    let bytes = if from_stdin {
        crate::input::read_bounded(std::io::stdin().lock())
    } else {
        crate::input::read_file(&args.dockerfile)
    }
    .map_err(|e| miette::miette!("cannot read {shown}: {e}"))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let source = SourceFile::new(shown.clone(), text.as_str());
    let dockerfile = match parse(&text) {
        Ok(file) => file,
        Err(diagnostic) => {
            report(&source, &[diagnostic]);
            return Ok(Exit::Failure);
        }
    };
    let options = ImportOptions {
        artifacts: !args.no_artifacts,
    };
    let mut imported = match import_dockerfile_source(&dockerfile, Some(&text), &options) {
        Ok(imported) => imported,
        Err(diagnostics) => {
            report(&source, &diagnostics);
            return Ok(Exit::Failure);
        }
    };
    imported.notes.header = header(&shown, (!from_stdin).then_some(args.dockerfile.as_path()));
    let body = write_project(
        &imported.project,
        &imported.notes,
        WriteOptions { schema: false },
    );
    let written = SourceFile::new("stages.toml (imported)", body.as_str());
    let outcome = check(&written);
    if outcome.has_errors() {
        report(&written, &outcome.diagnostics);
        eprintln!("{body}");
        return Ok(Exit::Failure);
    }
    let to_stdout = args.output.as_os_str() == "-";
    if !to_stdout && args.output.exists() && !args.force {
        // Refused before a schema is written beside it.
        miette::bail!(
            help = "pass --force to replace it",
            "{} already exists",
            args.output.display()
        );
    }
    let dir = directory_of(&args.output);
    let schema = if to_stdout {
        schema_line_found(Path::new("."))
    } else {
        Some(schema_line_writing(dir)?)
    };
    let toml = match schema {
        Some(line) => format!("{line}\n{body}"),
        None => body,
    };
    if to_stdout {
        print!("{toml}");
        return Ok(Exit::Success);
    }
    write_atomic(&args.output, toml.as_bytes(), args.force)?;
    eprintln!("wrote {}", args.output.display());
    Ok(Exit::Success)
}

/// The comment at the top: where the file came from, and a
/// `.dockerignore` the build should keep honouring (only for a file:
/// standard input has no directory).
fn header(shown: &str, dockerfile: Option<&Path>) -> Vec<String> {
    let mut lines = vec![format!("Imported from {shown} by `stages import`.")];
    let Some(dockerfile) = dockerfile else {
        return lines;
    };
    let dir = dockerfile.parent().unwrap_or(Path::new(""));
    let ignore = dir.join(".dockerignore");
    if ignore.is_file() {
        lines.push(format!(
            "{} sits beside the Dockerfile: keep it in the build context directory.",
            ignore.display()
        ));
    }
    lines
}
