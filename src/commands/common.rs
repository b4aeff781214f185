//! What several commands share: finding and loading stages.toml (printing
//! its diagnostics), choosing how to print diagnostics, and writing files
//! atomically without overwriting unless asked to.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use miette::{IntoDiagnostic, WrapErr};

use super::Exit;
use crate::check::check;
use crate::cli::ConfigArg;
use crate::config::build_args::unconsumed_build_args;
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, SourceFile, Style, render_human};
use crate::graph::ProjectGraph;

/// The file name looked for when `-f` is not given.
pub const CONFIG_NAME: &str = "stages.toml";

/// A checked project and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedProject {
    /// The config file, as given or found.
    pub path: PathBuf,
    /// The directory holding it: paths in the file (context, outputs) are relative to it.
    pub dir: PathBuf,
    pub file: SourceFile,
    pub project: Project,
    pub graph: ProjectGraph,
}

impl LoadedProject {
    /// The build context directory.
    pub fn context_dir(&self) -> PathBuf {
        self.dir.join(&self.project.context)
    }

    /// The project as a build with these `--build-arg` values sees it: a
    /// `from` with variables names the stage these values make it name.
    pub fn with_build_args(&self, build_args: &BTreeMap<String, String>) -> LoadedProject {
        if build_args.is_empty() {
            return self.clone();
        }
        let overrides: Vec<(String, String)> = build_args
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let project = self.project.with_bases_for(&overrides);
        let graph = ProjectGraph::new(&project);
        LoadedProject {
            project,
            graph,
            ..self.clone()
        }
    }
}

/// Warns, on standard error, about each `--build-arg` that no ARG of the
/// stages `targets` build declares (Docker warns too), with the declared
/// name closest to it.
pub fn warn_unconsumed_build_args(
    loaded: &LoadedProject,
    targets: &[crate::graph::ResolvedTarget],
    build_args: &BTreeMap<String, String>,
) {
    if build_args.is_empty() {
        return;
    }
    let stages = loaded.graph.needed_stages(&root_stages(targets));
    let names = build_args.keys().map(String::as_str);
    for unconsumed in unconsumed_build_args(&loaded.project, &stages, names) {
        eprintln!("warning: {}", unconsumed.message());
    }
}

/// `-f FILE` if given; else `stages.toml` in the current directory or the
/// nearest parent that has one (like Cargo); else `stages.toml` here, so the
/// read fails with a clear "not found".
pub fn find_config(arg: &ConfigArg) -> PathBuf {
    if let Some(file) = &arg.file {
        return file.clone();
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let candidate = dir.join(CONFIG_NAME);
            if candidate.is_file() {
                return if dir == cwd {
                    PathBuf::from(CONFIG_NAME)
                } else {
                    candidate
                };
            }
        }
    }
    PathBuf::from(CONFIG_NAME)
}

/// Colours as `--color` says (see [`super::output`]).
pub fn stderr_style() -> Style {
    if super::output::settings().color {
        Style::Color
    } else {
        Style::Plain
    }
}

/// Reads a config file; an I/O problem is reported and becomes `Exit::Usage`.
pub fn read_source(path: &Path) -> Result<SourceFile, Exit> {
    match crate::input::read_text(path) {
        Ok(text) => Ok(SourceFile::new(path.display().to_string(), text)),
        Err(error) => {
            let hint = if error.kind() == std::io::ErrorKind::NotFound
                && path == Path::new(CONFIG_NAME)
            {
                " (no stages.toml here or in a parent directory; pass -f FILE or run `stages init`)"
            } else {
                ""
            };
            eprintln!("error: cannot read {}: {error}{hint}", path.display());
            Err(Exit::Usage)
        }
    }
}

/// Prints diagnostics for people on standard error.
pub fn print_diagnostics(file: &SourceFile, diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    let text = render_human(file, diagnostics, stderr_style());
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// "1 stage", "2 stages".
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// "2 errors, 1 warning".
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// Finds, reads and checks the config; prints its warnings and errors on
/// standard error. Errors in the file give `Exit::Failure`; a file that
/// cannot be read gives `Exit::Usage`.
pub fn load_project(arg: &ConfigArg) -> Result<LoadedProject, Exit> {
    let path = find_config(arg);
    let file = read_source(&path)?;
    let outcome = check(&file);
    print_diagnostics(&file, &outcome.diagnostics);
    let Some(project) = outcome.project else {
        eprintln!(
            "error: {} has problems: {}",
            path.display(),
            summary(&outcome.diagnostics)
        );
        return Err(Exit::Failure);
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let graph = ProjectGraph::new(&project);
    Ok(LoadedProject {
        path,
        dir,
        file,
        project,
        graph,
    })
}

/// Writes `contents` to `path` through a temporary file in the same
/// directory and a rename, so readers never see half a file. Refuses to
/// replace an existing file unless `force`.
pub fn write_atomic(path: &Path, contents: &[u8], force: bool) -> miette::Result<()> {
    if path.exists() && !force {
        miette::bail!(
            help = "pass --force to replace it",
            "{} already exists",
            path.display()
        );
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create a file in {}", dir.display()))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    match_permissions(temp.path(), path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    let persisted = if force {
        temp.persist(path).map_err(|e| e.error)
    } else {
        // A file that appeared since the check above is not replaced either.
        temp.persist_noclobber(path).map_err(|e| e.error)
    };
    persisted
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The temporary file is private (0600); the result gets the replaced
/// file's permissions, or a new file's usual 0644.
#[cfg(unix)]
fn match_permissions(temp: &Path, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let permissions = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => std::fs::Permissions::from_mode(0o644),
    };
    std::fs::set_permissions(temp, permissions)
}

#[cfg(not(unix))]
fn match_permissions(_temp: &Path, _path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Resolves target names for a loaded project; an unknown name is printed
/// (with a did-you-mean) and is a usage error.
pub fn resolve(
    loaded: &LoadedProject,
    names: &[String],
) -> Result<Vec<crate::graph::ResolvedTarget>, Exit> {
    crate::graph::resolve_targets(&loaded.project, names).map_err(|diagnostic| {
        print_diagnostics(&loaded.file, &[diagnostic]);
        Exit::Usage
    })
}

/// The stages the targets build directly, without repeats, in order met.
pub fn root_stages(targets: &[crate::graph::ResolvedTarget]) -> Vec<String> {
    let mut roots: Vec<String> = Vec::new();
    for stage in targets.iter().flat_map(|t| t.stages()) {
        if !roots.contains(&stage) {
            roots.push(stage);
        }
    }
    roots
}

impl From<crate::cli::Backend> for crate::check::Backend {
    fn from(backend: crate::cli::Backend) -> Self {
        match backend {
            crate::cli::Backend::Native => crate::check::Backend::Native,
            // What `auto` picks on a current Engine.
            crate::cli::Backend::Auto | crate::cli::Backend::Buildkit => {
                crate::check::Backend::BuildKit
            }
            crate::cli::Backend::Dockerfile => crate::check::Backend::ClassicDockerfile,
        }
    }
}
