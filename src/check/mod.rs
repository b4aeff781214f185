//! The semantic rules of stages.toml and the lowering to `config::model`.
//!
//! `check` loads the text, lowers it (reporting shape problems), then runs
//! every rule over the lowered project so that one run reports every
//! problem. Owns the `stages::check::*` codes (`codes`). Reads `config`
//! only; must not import `graph`, `convert`, `engine` or the terminal.

pub mod backend;
pub mod backend_native;
mod builder_address;
pub mod codes;
mod cycles;
mod flag_values;
mod image_config;
mod image_refs;
mod line_values;
mod lower;
mod lower_config_step;
mod lower_mount;
mod lower_step;
mod lower_target;
mod names;
mod outputs;
mod paths;
mod reachability;
mod references;
mod target_platforms;
pub mod variables;

pub use backend::{Backend, unsupported_features};
pub use image_refs::{reference_problem, variable_name_problem};
pub use names::is_valid_stage_name;
pub use outputs::{OutputOutside, output_outside_project};
pub use paths::stays_in_context;
pub use reachability::{reachable, root_stages};
pub use variables::{
    BaseEnv, UndefinedUse, expanded_names, undefined_uses, variable_diagnostics, variable_uses,
};

use crate::config::load::load_manifest;
use crate::config::model::Project;
use crate::diagnostics::{Diagnostic, SourceFile};

/// What checking a file found: the project when there is no error, and
/// every diagnostic (errors and warnings) in the order the rules found them.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// `Some` exactly when no diagnostic is an error.
    pub project: Option<Project>,
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckOutcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads, lowers and checks one `stages.toml`.
pub fn check(file: &SourceFile) -> CheckOutcome {
    let manifest = match load_manifest(file) {
        Ok(manifest) => manifest,
        Err(diagnostics) => {
            return CheckOutcome {
                project: None,
                diagnostics,
            };
        }
    };
    let lowered = lower::lower(manifest);
    let mut diagnostics = lowered.diagnostics;
    diagnostics.extend(rules(&lowered.project, &lowered.declared_artifacts));
    let project = (!diagnostics.iter().any(Diagnostic::is_error)).then_some(lowered.project);
    CheckOutcome {
        project,
        diagnostics,
    }
}

/// Runs every rule over a project that came from elsewhere (an imported
/// Dockerfile, a migration), so it meets the same bar as a written file.
pub fn check_project(project: &Project) -> Vec<Diagnostic> {
    let declared: Vec<String> = project
        .artifacts
        .iter()
        .map(|a| a.name.value.clone())
        .collect();
    rules(project, &declared)
}

fn rules(project: &Project, declared_artifacts: &[String]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    diagnostics.extend(names::check_stage_names(project));
    let references_ok = {
        let found = references::check_references(project, declared_artifacts);
        let ok = !found.iter().any(Diagnostic::is_error);
        diagnostics.extend(found);
        ok
    };
    diagnostics.extend(cycles::check_cycles(project));
    diagnostics.extend(paths::check_paths(project));
    diagnostics.extend(outputs::check_outputs(project));
    diagnostics.extend(image_config::check_image_config(project));
    diagnostics.extend(image_refs::check_image_refs(project));
    diagnostics.extend(flag_values::check_flag_values(project));
    diagnostics.extend(line_values::check_line_values(project));
    diagnostics.extend(variables::check_variables(project));
    // Reachability through a dangling reference would only repeat that error.
    if references_ok {
        diagnostics.extend(reachability::check_reachability(project));
    }
    diagnostics
}

#[cfg(test)]
mod tests;
