//! `stages migrate`: the builder pattern (a build script or Makefile with
//! two Dockerfiles) becomes one stages.toml, or with `--emit dockerfile`
//! one multi-stage Dockerfile. Prints every finding; writes nothing when
//! one is an error or when the result would not pass `stages check`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::Exit;
use super::common::{plural, print_diagnostics, stderr_style, write_atomic};
use super::schema_beside::{directory_of, schema_line_found, schema_line_writing};
use crate::check::check;
use crate::cli::{EmitFormat, MigrateArgs};
use crate::config::write::{WriteOptions, write_project};
use crate::convert::export::SYNTAX_LINE;
use crate::convert::migrate::{Migration, Request, migrate};
use crate::convert::{ExportOptions, export_dockerfile};
use crate::diagnostics::{SourceFile, Style, render_human};
use crate::graph::ProjectGraph;

/// Where `--emit dockerfile` writes when `-o` is left at its default.
const DOCKERFILE_OUTPUT: &str = "Dockerfile.stages";

pub fn run(args: MigrateArgs) -> miette::Result<Exit> {
    if !args.dir.is_dir() {
        miette::bail!("{} is not a directory", args.dir.display());
    }
    let script = find_script(&args.dir, args.script.as_deref())?;
    // A Makefile chosen beside build.sh is read at the target build.sh runs.
    let runner =
        if args.script.is_none() && crate::convert::migrate::is_makefile(&file_name(&script)) {
            args.dir.join("build.sh")
        } else {
            script.clone()
        };
    let (script, make_target) = match followed_make(&args.dir, &runner) {
        Some((makefile, target)) => {
            if !same_file(&makefile, &script) {
                eprintln!(
                    "reading {}: {} runs `make {target}`",
                    shown_name(&args.dir, &makefile),
                    file_name(&runner)
                );
            }
            (makefile, Some(target))
        }
        None => (script, None),
    };
    let script_text = crate::input::read_file(&script)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| miette::miette!("cannot read {}: {e}", script.display()))?;
    let to_stdout = args.output.as_os_str() == "-";
    let output = if args.emit == EmitFormat::Dockerfile && args.output == Path::new("stages.toml") {
        PathBuf::from(DOCKERFILE_OUTPUT)
    } else {
        args.output.clone()
    };
    let root_from_output = if to_stdout {
        ".".to_owned()
    } else {
        root_from_output_dir(&args.dir, &output)?
    };
    let request = Request {
        root: &args.dir,
        script_name: shown_name(&args.dir, &script),
        script_text,
        target_name: args.target_name.clone(),
        make_target,
        root_from_output,
    };
    let migration = migrate(&request);
    let rendered = render_findings(&migration, stderr_style());
    let _ = std::io::stderr().write_all(rendered.as_bytes());
    if migration.has_errors() {
        eprintln!("error: the migration stopped; nothing was written");
        return Ok(Exit::Failure);
    }
    let toml = write_project(
        &migration.project,
        &migration.notes,
        WriteOptions { schema: false },
    );
    let written = SourceFile::new("stages.toml (migrated)", toml.as_str());
    let outcome = check(&written);
    if outcome.has_errors() {
        print_diagnostics(&written, &outcome.diagnostics);
        eprintln!("{toml}");
        eprintln!(
            "error: the migrated stages.toml does not pass `stages check`; nothing was written"
        );
        return Ok(Exit::Failure);
    }
    if !to_stdout && output.exists() && !args.force {
        // Refused before a schema is written beside it.
        miette::bail!(
            help = "pass --force to replace it",
            "{} already exists",
            output.display()
        );
    }
    let text = match args.emit {
        EmitFormat::Toml => with_schema_line(toml, &output, to_stdout)?,
        EmitFormat::Dockerfile => match dockerfile_text(&migration) {
            Ok(text) => text,
            Err(exit) => return Ok(exit),
        },
    };
    if to_stdout {
        print!("{text}");
    } else {
        write_atomic(&output, text.as_bytes(), args.force)?;
    }
    let warnings = migration.findings.len();
    eprintln!(
        "{} {}: {}, {}, {}; {}",
        if to_stdout { "migrated" } else { "wrote" },
        if to_stdout {
            "to standard output".to_owned()
        } else {
            output.display().to_string()
        },
        plural(migration.project.stages.len(), "stage"),
        plural(migration.project.artifacts.len(), "artifact"),
        plural(migration.project.targets.len(), "target"),
        plural(warnings, "warning"),
    );
    Ok(Exit::Success)
}

/// The stages.toml text under a `#:schema` line that points at a schema
/// that exists: one found beside the output, else one written there (on
/// standard output, only one found in the working directory).
fn with_schema_line(toml: String, output: &Path, to_stdout: bool) -> miette::Result<String> {
    let line = if to_stdout {
        schema_line_found(Path::new("."))
    } else {
        Some(schema_line_writing(directory_of(output))?)
    };
    Ok(match line {
        Some(line) => format!("{line}\n{toml}"),
        None => toml,
    })
}

/// Every finding, rendered against the file it points into, script first.
pub fn render_findings(migration: &Migration, style: Style) -> String {
    let mut out = String::new();
    for (index, file) in migration.files.iter().enumerate() {
        let diagnostics: Vec<_> = migration
            .findings
            .iter()
            .filter(|f| f.file == index)
            .map(|f| f.diagnostic.clone())
            .collect();
        if !diagnostics.is_empty() {
            out.push_str(&render_human(file, &diagnostics, style));
        }
    }
    out
}

/// The single multi-stage Dockerfile, with the same "left to finish" list on top.
fn dockerfile_text(migration: &Migration) -> Result<String, Exit> {
    let project = &migration.project;
    let graph = ProjectGraph::new(project);
    let all: Vec<String> = project
        .stages
        .iter()
        .map(|s| s.name.value.clone())
        .collect();
    let stages = graph.needed_stages(&all);
    let exported = export_dockerfile(
        project,
        &stages,
        &ExportOptions {
            header: false,
            ..ExportOptions::default()
        },
    )
    .map_err(|diagnostic| {
        let file = SourceFile::new("stages.toml (migrated)", "");
        print_diagnostics(&file, &[diagnostic]);
        Exit::Failure
    })?;
    let comments: String = migration
        .notes
        .header
        .iter()
        .map(|line| {
            if line.is_empty() {
                "#\n".to_owned()
            } else {
                format!("# {line}\n")
            }
        })
        .collect();
    let text = exported.text;
    Ok(match text.strip_prefix(SYNTAX_LINE) {
        Some(rest) => format!("{SYNTAX_LINE}\n{comments}{}", rest.trim_start_matches('\n')),
        None => format!("{comments}\n{text}"),
    })
}

/// `--script` (in DIR when it exists there, else as given); else the one
/// of `build.sh` and a Makefile that runs `docker build` (both do: the
/// script, which usually drives the Makefile), else the one `*.sh` in DIR
/// that does.
fn find_script(dir: &Path, given: Option<&Path>) -> miette::Result<PathBuf> {
    if let Some(given) = given {
        let in_dir = dir.join(given);
        return Ok(if in_dir.is_file() {
            in_dir
        } else {
            given.to_path_buf()
        });
    }
    let present: Vec<PathBuf> = ["build.sh", "Makefile", "makefile", "GNUmakefile"]
        .iter()
        .map(|name| dir.join(name))
        .filter(|path| path.is_file())
        .collect();
    let building: Vec<&PathBuf> = present.iter().filter(|p| builds_an_image(p)).collect();
    if let Some(chosen) = building.first() {
        for other in present.iter().filter(|p| p != chosen) {
            eprintln!(
                "reading {}: {} {}",
                file_name(chosen),
                file_name(other),
                if building.contains(&other) {
                    "also runs `docker build`; name it with --script to migrate it instead"
                } else {
                    "runs no `docker build`"
                }
            );
        }
        return Ok((*chosen).clone());
    }
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| miette::miette!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .filter(|p| builds_an_image(p))
        .collect();
    scripts.sort();
    match scripts.as_slice() {
        [one] => Ok(one.clone()),
        // A script that builds nothing still gets its diagnostic, on its text.
        [] => match present.first() {
            Some(first) => Ok(first.clone()),
            None => miette::bail!(
                help = "name it with --script FILE",
                "no build script in {}: looked for build.sh, a Makefile and *.sh files that run `docker build`",
                dir.display()
            ),
        },
        several => miette::bail!(
            help = "choose one with --script FILE",
            "several scripts in {} run `docker build`: {}",
            dir.display(),
            several
                .iter()
                .map(|p| file_name(p))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The Makefile and target a shell script that builds nothing itself runs
/// (`make image`, `make -C docker image`, `make -f build.mk image`), when
/// that target's recipe runs `docker build`: the build lives there.
fn followed_make(dir: &Path, script: &Path) -> Option<(PathBuf, String)> {
    let name = script.file_name()?.to_string_lossy();
    if crate::convert::migrate::is_makefile(&name) || builds_an_image(script) {
        return None;
    }
    let text = crate::input::read_text(script).ok()?;
    text.lines()
        .flat_map(|line| line.split(['&', ';', '|']))
        .filter_map(make_call)
        .find_map(|(subdir, file, target)| {
            let base = dir.join(subdir.unwrap_or_default());
            let makefile = match file {
                Some(file) => base.join(file),
                None => ["GNUmakefile", "makefile", "Makefile"]
                    .iter()
                    .map(|n| base.join(n))
                    .find(|p| p.is_file())?,
            };
            let recipe = crate::input::read_text(&makefile).ok()?;
            crate::convert::migrate::makefile_target_builds(&recipe, &target)
                .then_some((makefile, target))
        })
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// `make [-C dir] [-f file] [VAR=value…] target` as (dir, file, target);
/// only the first target is followed.
fn make_call(command: &str) -> Option<(Option<String>, Option<String>, String)> {
    let mut words = command.split_whitespace();
    if !matches!(words.next()?, "make" | "gmake") {
        return None;
    }
    let (mut subdir, mut file) = (None, None);
    while let Some(word) = words.next() {
        match word {
            "-C" | "--directory" => subdir = Some(words.next()?.to_owned()),
            "-f" | "--file" | "--makefile" => file = Some(words.next()?.to_owned()),
            _ if word.starts_with("--directory=") => {
                subdir = word.split_once('=').map(|(_, v)| v.to_owned());
            }
            _ if word.starts_with("-C") => subdir = Some(word[2..].to_owned()),
            _ if word.starts_with("-f") => file = Some(word[2..].to_owned()),
            _ if word.starts_with('-') || word.contains('=') => {}
            target => return Some((subdir, file, target.to_owned())),
        }
    }
    None
}

/// Whether a script (or a Makefile target) runs `docker build` in one of its spellings.
fn builds_an_image(path: &Path) -> bool {
    let Ok(text) = crate::input::read_text(path) else {
        return false;
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if crate::convert::migrate::is_makefile(&name) {
        return crate::convert::migrate::makefile_builds(&text);
    }
    crate::convert::migrate::runs_docker_build(&text)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The script's name as shown: relative to DIR when inside it.
fn shown_name(dir: &Path, script: &Path) -> String {
    let name = match (dir.canonicalize(), script.canonicalize()) {
        (Ok(dir), Ok(script)) => script.strip_prefix(&dir).map_or_else(
            |_| script.display().to_string(),
            |p| p.display().to_string(),
        ),
        _ => script.display().to_string(),
    };
    if name.is_empty() {
        script.display().to_string()
    } else {
        name
    }
}

/// DIR seen from the output file's directory (`..` where needed).
fn root_from_output_dir(dir: &Path, output: &Path) -> miette::Result<String> {
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let parent = parent
        .canonicalize()
        .map_err(|e| miette::miette!("cannot write into {}: {e}", parent.display()))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| miette::miette!("cannot read {}: {e}", dir.display()))?;
    let relative =
        crate::convert::migrate::relative_path(&dir.to_string_lossy(), &parent.to_string_lossy());
    Ok(relative)
}
