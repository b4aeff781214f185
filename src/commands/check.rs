//! `stages check`: report every problem of stages.toml, for people or as
//! JSON lines for tools; with `--backend`, also what that back end cannot
//! express; with the context on disk, COPY/ADD sources it does not hold.
//! Exit 0 when clean (warnings allowed), 1 on errors,
//! 2 when the file cannot be read.

use std::io::Write;

use super::Exit;
use super::common::{find_config, plural, print_diagnostics, read_source, summary};
use crate::check::{check, codes, unsupported_features, variable_diagnostics};
use crate::cli::{CheckArgs, MessageFormat};
use crate::diagnostics::render_json;
use crate::engine::context_sources::missing_sources;

pub fn run(args: CheckArgs) -> miette::Result<Exit> {
    let path = find_config(&args.config);
    let file = match read_source(&path) {
        Ok(file) => file,
        Err(exit) => return Ok(exit),
    };
    let mut outcome = check(&file);
    if let Some(project) = &outcome.project {
        // A base image's env may declare what looked undeclared.
        if let Some(base_env) = super::lint::base_env_for_check(project) {
            outcome
                .diagnostics
                .retain(|d| d.code != codes::UNDECLARED_VARIABLE);
            outcome
                .diagnostics
                .extend(variable_diagnostics(project, &base_env));
        }
        if !args.no_lint {
            outcome
                .diagnostics
                .extend(super::lint::for_check(project, &path));
        }
    }
    if let (Some(backend), Some(project)) = (args.backend, &outcome.project) {
        let all: Vec<String> = project
            .stages
            .iter()
            .map(|s| s.name.value.clone())
            .collect();
        let unsupported = unsupported_features(project, backend.into(), &all);
        outcome.diagnostics.extend(unsupported);
    }
    if let Some(project) = &outcome.project
        && path.as_os_str() != "-"
    {
        // The context is on disk: its sources can be looked for now
        // rather than when the build fails.
        let dir = path.parent().unwrap_or(std::path::Path::new(""));
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        };
        let context_dir = dir.join(&project.context);
        outcome
            .diagnostics
            .extend(missing_sources(project, &context_dir));
    }
    match args.message_format {
        MessageFormat::Json => {
            let _ =
                std::io::stdout().write_all(render_json(&file, &outcome.diagnostics).as_bytes());
        }
        MessageFormat::Human => {
            print_diagnostics(&file, &outcome.diagnostics);
            match &outcome.project {
                // A project is lowered even when back-end checks then find
                // errors: "ok" only when nothing is wrong.
                Some(_) if !outcome.has_errors() && super::output::settings().quiet => {}
                Some(project) if !outcome.has_errors() => println!(
                    "{}: ok ({}, {}, {}; {})",
                    file.name,
                    plural(project.stages.len(), "stage"),
                    plural(project.artifacts.len(), "artifact"),
                    plural(project.targets.len(), "target"),
                    summary(&outcome.diagnostics)
                ),
                _ => eprintln!("{}: {}", file.name, summary(&outcome.diagnostics)),
            }
        }
    }
    Ok(if outcome.has_errors() {
        Exit::Failure
    } else {
        Exit::Success
    })
}
