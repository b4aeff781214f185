//! `stages export-dockerfile`: the Dockerfile of the stages the targets
//! need, to standard output or a file; `--check` compares instead of writing.

use std::path::Path;

use super::Exit;
use super::common::{
    LoadedProject, load_project, print_diagnostics, resolve, root_stages, write_atomic,
};
use crate::cli::ExportArgs;
use crate::config::model::TargetKind;
use crate::convert::ExportOptions;
use crate::convert::export::HEADER_FIRST_LINE;
use crate::convert::export::export_with_artifact_targets;

pub fn run(args: ExportArgs) -> miette::Result<Exit> {
    let loaded = match load_project(&args.config) {
        Ok(loaded) => loaded,
        Err(exit) => return Ok(exit),
    };
    let loaded = if args.locked {
        match super::lock::pinned_for_export(&loaded) {
            Ok(pinned) => pinned,
            Err(exit) => return Ok(exit),
        }
    } else {
        loaded
    };
    let stages = match stages_to_export(&loaded, &args) {
        Ok(stages) => stages,
        Err(exit) => return Ok(exit),
    };
    let options = ExportOptions {
        header: true,
        regenerate_with: Some(regenerate_command(&args, false)),
    };
    let targets = if args.all_stages {
        Vec::new()
    } else {
        artifact_targets(&loaded, &args)
    };
    let exported = match export_with_artifact_targets(&loaded.project, &stages, &targets, &options)
    {
        Ok(exported) => exported,
        Err(diagnostic) => {
            print_diagnostics(&loaded.file, &[diagnostic]);
            return Ok(Exit::Failure);
        }
    };
    if args.output.as_os_str() == "-" {
        if args.check {
            return Err(miette::miette!("--check needs a file: pass -o FILE"));
        }
        print!("{}", exported.text);
        return Ok(Exit::Success);
    }
    if args.check {
        return Ok(check_file(
            &args.output,
            &exported.text,
            &regenerate_command(&args, true),
        ));
    }
    refuse_foreign_file(&args.output, args.force)?;
    write_atomic(&args.output, exported.text.as_bytes(), true)?;
    eprintln!("wrote {}", args.output.display());
    Ok(Exit::Success)
}

/// The stages to emit, in dependency order: those the named targets need;
/// with no names, those any target reaches (the default target when there
/// are no targets); with `--all-stages`, every stage.
fn stages_to_export(loaded: &LoadedProject, args: &ExportArgs) -> Result<Vec<String>, Exit> {
    let project = &loaded.project;
    if args.all_stages {
        let all: Vec<String> = project
            .stages
            .iter()
            .map(|s| s.name.value.clone())
            .collect();
        return Ok(loaded.graph.needed_stages(&all));
    }
    let names: Vec<String> = if args.targets.is_empty() && !project.targets.is_empty() {
        project
            .targets
            .iter()
            .map(|t| t.name.value.clone())
            .collect()
    } else {
        args.targets.clone()
    };
    let targets = resolve(loaded, &names)?;
    Ok(loaded.graph.needed_stages(&root_stages(&targets)))
}
/// The artifact targets among those exported (named, or every target when
/// none is named): each gets a last `FROM scratch AS <target>` stage.
fn artifact_targets(loaded: &LoadedProject, args: &ExportArgs) -> Vec<String> {
    loaded
        .project
        .targets
        .iter()
        .filter(|t| matches!(t.kind, TargetKind::Artifacts { .. }))
        .map(|t| t.name.value.clone())
        .filter(|name| args.targets.is_empty() || args.targets.contains(name))
        .collect()
}

/// Exit 0 when the file holds `text`, else print a unified diff and exit 1.
fn check_file(path: &Path, text: &str, command: &str) -> Exit {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == text {
        return Exit::Success;
    }
    let shown = path.display().to_string();
    let regenerated = format!("{shown} (regenerated)");
    print!(
        "{}",
        super::diff::unified(&current, text, 3, (&shown, &regenerated))
    );
    eprintln!("{shown} is stale: regenerate it with `{command}`");
    Exit::Failure
}

/// The command line that writes the same file again. In the file's own
/// header it names only what decides the content (targets,
/// `--all-stages`) and the file's name, so that the file does not change
/// with the directory it was generated from; `exact` adds `-f` and the
/// paths as given, for a message.
fn regenerate_command(args: &ExportArgs, exact: bool) -> String {
    let mut words = vec!["stages".to_owned(), "export-dockerfile".to_owned()];
    words.extend(args.targets.iter().map(|t| shell_word(t)));
    if exact && let Some(file) = &args.config.file {
        words.push("-f".to_owned());
        words.push(shell_word(&file.display().to_string()));
    }
    if args.all_stages {
        words.push("--all-stages".to_owned());
    }
    if args.locked {
        words.push("--locked".to_owned());
    }
    words.push("-o".to_owned());
    let output = if exact {
        Some(args.output.display().to_string())
    } else {
        args.output
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
    };
    match output.filter(|o| o != "-") {
        Some(output) => words.push(shell_word(&output)),
        None => words.push("<file>".to_owned()),
    }
    words.join(" ")
}

/// A word as a POSIX shell reads it back.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A file that exists and was not generated by stages is only replaced with `--force`.
fn refuse_foreign_file(path: &Path, force: bool) -> miette::Result<()> {
    if force {
        return Ok(());
    }
    // A file that cannot be read as text (not UTF-8, no permission) is
    // not known to be ours, so it is refused like any foreign file.
    let generated = match std::fs::read_to_string(path) {
        Ok(current) => current.lines().take(3).any(|l| l == HEADER_FIRST_LINE),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => false,
    };
    if generated {
        Ok(())
    } else {
        Err(miette::miette!(
            help = "pass --force to replace it, or choose another file with -o",
            "{} exists and was not generated by stages",
            path.display()
        ))
    }
}
