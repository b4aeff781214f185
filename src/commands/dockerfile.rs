//! `stages dockerfile dump|outline|fmt`: the Dockerfile layer on the command line.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use miette::{IntoDiagnostic, WrapErr};

use super::Exit;
use super::common::write_atomic;
use crate::cli::{DockerfileFileArg, FmtArgs, OutlineArgs, OutlineFormat};
use crate::config::bases::global_values;
use crate::config::expand::expand;
use crate::diagnostics::{Diagnostic, Label, SourceFile, render_human};
use crate::dockerfile;
use crate::dockerfile::codes;
use crate::input::{read_bounded, read_file};
use crate::located::Span;

/// Reads a file (or standard input for `-`) within the input bound;
/// invalid UTF-8 is replaced.
pub(super) fn read_source(path: &Path) -> miette::Result<SourceFile> {
    read_source_bytes(path).map(|(file, _)| file)
}

/// [`read_source`], with where the first byte that is not UTF-8 was.
fn read_source_bytes(path: &Path) -> miette::Result<(SourceFile, Option<usize>)> {
    let bytes = if path == Path::new("-") {
        read_bounded(std::io::stdin().lock())
            .into_diagnostic()
            .wrap_err("cannot read standard input")?
    } else {
        read_file(path)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read {}", path.display()))?
    };
    let not_utf8 = std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to());
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok((SourceFile::new(path.display().to_string(), text), not_utf8))
}

/// fmt writes text, and would put U+FFFD where a byte was not UTF-8,
/// changing what BuildKit reads there.
fn not_utf8(at: usize) -> Diagnostic {
    let span = Span::new(at, at + char::REPLACEMENT_CHARACTER.len_utf8());
    Diagnostic::error(
        codes::NOT_UTF8,
        "the file is not UTF-8 text; fmt cannot write it back byte for byte",
    )
    .with_label(Label::primary(span, "this byte is not UTF-8"))
    .with_help("save the file as UTF-8 (only the bytes of flag values are read as Latin-1)")
}

/// Prints diagnostics to stderr, in colour on a terminal.
fn report(file: &SourceFile, diagnostics: &[Diagnostic]) {
    eprint!(
        "{}",
        render_human(file, diagnostics, super::common::stderr_style())
    );
}

fn write_stdout(text: &str) -> miette::Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(Exit::Success),
        // A closed pipe (`| head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Success),
        Err(e) => Err(e)
            .into_diagnostic()
            .wrap_err("cannot write to standard output"),
    }
}

pub fn dump(args: DockerfileFileArg) -> miette::Result<Exit> {
    let file = read_source(&args.file)?;
    match dockerfile::parse(&file.text) {
        Ok(parsed) => write_stdout(&dockerfile::dump(&parsed)),
        Err(d) => {
            report(&file, &[d]);
            Ok(Exit::Failure)
        }
    }
}

pub fn outline(args: OutlineArgs) -> miette::Result<Exit> {
    let file = read_source(&args.file)?;
    let build_args =
        super::build::parse_build_args(&args.build_args, |key| std::env::var(key).ok())?;
    let mut program = match dockerfile::read(&file.text) {
        Ok(p) => p,
        Err(d) => {
            report(&file, &[d]);
            return Ok(Exit::Failure);
        }
    };
    expand_bases(&mut program, &build_args);
    let mut diagnostics = program.check_graph();
    let target = match &args.target {
        Some(name) => match program.target(name) {
            Ok(i) => Some(i),
            Err(d) => {
                diagnostics.push(d);
                None
            }
        },
        None => None,
    };
    if !diagnostics.is_empty() {
        report(&file, &diagnostics);
        return Ok(Exit::Failure);
    }
    let outline = dockerfile::outline::outline(&program, target);
    let text = match args.format {
        OutlineFormat::Text => outline.to_text(),
        OutlineFormat::Json => {
            let mut json = serde_json::to_string_pretty(&outline).into_diagnostic()?;
            json.push('\n');
            json
        }
    };
    write_stdout(&text)
}

pub fn fmt(args: FmtArgs) -> miette::Result<Exit> {
    let (file, not_utf8_at) = read_source_bytes(&args.file)?;
    if let Some(at) = not_utf8_at {
        report(&file, &[not_utf8(at)]);
        return Ok(Exit::Failure);
    }
    let program = match dockerfile::read(&file.text) {
        Ok(p) => p,
        Err(d) => {
            report(&file, &[d]);
            return Ok(Exit::Failure);
        }
    };
    let printed = dockerfile::print(&program);
    if printed == *file.text {
        return Ok(Exit::Success);
    }
    if let Some(refused) = dockerfile::faithful::changed_meaning(&file.text, &printed) {
        report(&file, &[refused]);
        return Ok(Exit::Failure);
    }
    if args.check {
        eprintln!("{} is not in the canonical layout", args.file.display());
        let diff = super::diff::unified(&file.text, &printed, 2, ("current", "canonical"));
        eprint!("{diff}");
        return Ok(Exit::Failure);
    }
    if args.file == Path::new("-") {
        return write_stdout(&printed);
    }
    write_atomic(&args.file, printed.as_bytes(), true)?;
    Ok(Exit::Success)
}

/// Bases holding variables expanded with the meta-ARGs (their defaults,
/// or the `--build-arg` values), so that one naming a stage counts as it.
fn expand_bases(program: &mut dockerfile::Program, build_args: &BTreeMap<String, String>) {
    let overrides: Vec<(String, String)> = build_args
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let declared: Vec<(String, Option<String>)> = program
        .meta_args
        .iter()
        .flat_map(|i| match &i.command {
            dockerfile::instructions::Command::Arg(decls) => decls
                .iter()
                .map(|d| {
                    (
                        d.name.to_string(),
                        d.default.as_ref().map(|v| v.to_string()),
                    )
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let values = global_values(
        declared.iter().map(|(n, v)| (n.as_str(), v.as_deref())),
        &overrides,
    );
    program.expand_bases(|text| {
        expand(text, &|name| {
            values
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    });
}
