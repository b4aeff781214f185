//! `stages lint`: BuildKit's build checks under BuildKit's own names, on a
//! Dockerfile (at the lines BuildKit reports) or on stages.toml (at the
//! values the instruction would carry), and rules of our own that need the
//! whole stage graph. Reads `check`, `config` and `dockerfile`; must not
//! import `engine` or the terminal: what only the Engine knows (the env of
//! base images) comes in through [`LintContext`].

mod base_platform;
pub mod controls;
pub mod dockerfile;
mod finding;
pub mod rules;
pub mod sarif;
mod toml;

use std::collections::HashMap;
use std::sync::Arc;

pub use controls::Controls;
pub use rules::Rule;

use crate::check::BaseEnv;
use crate::config::model::Project;
use crate::diagnostics::Diagnostic;

/// What the rules know beyond the file.
#[derive(Debug, Clone, Default)]
pub struct LintContext {
    /// Env names of the base images the Engine has.
    pub base_env: BaseEnv,
    /// The configured user of the base images the Engine has.
    pub base_users: HashMap<String, String>,
    /// The image references the `stages.lock` next to stages.toml pins;
    /// `None` when there is no lock.
    pub locked_images: Option<Vec<String>>,
    /// The platform (`os/arch[/variant]`) of the base images the Engine has.
    pub base_platforms: HashMap<String, String>,
    /// The Engine's own platform, what a build is for unless told otherwise.
    pub engine_platform: Option<String>,
    /// The build context's `.dockerignore`, when there is one to honour.
    pub ignored: Option<IgnoredPaths>,
    /// BuildKit's `BUILDKIT_DOCKERFILE_CHECK` build argument, read: it
    /// replaces a Dockerfile's own `# check=` directive (for stages.toml,
    /// the caller puts it in the place of `[lint]`).
    pub check_build_arg: Option<Controls>,
}

/// Which context paths the build's `.dockerignore` excludes (it or a
/// parent directory matching). Lint reads no files: the caller reads the
/// `.dockerignore` with the Engine layer's rules and hands in the test.
#[derive(Clone)]
pub struct IgnoredPaths(Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl IgnoredPaths {
    pub fn new(excludes: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(excludes))
    }

    pub fn excludes(&self, path: &str) -> bool {
        (self.0)(path)
    }
}

impl std::fmt::Debug for IgnoredPaths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IgnoredPaths(..)")
    }
}

/// The rules on a checked project, filtered and raised by `controls`.
pub fn lint_project(project: &Project, cx: &LintContext, controls: &Controls) -> Vec<Diagnostic> {
    controls.apply(toml::lint(project, cx))
}

/// A Dockerfile BuildKit cannot read to instructions: why, and what
/// BuildKit reports before it stops.
#[derive(Debug)]
pub struct Unreadable {
    pub error: Diagnostic,
    pub findings: Vec<Diagnostic>,
}

/// The rules on a Dockerfile's text. `controls` come from the command line;
/// the file's own `# check=` directive (or, in its place, the
/// `BUILDKIT_DOCKERFILE_CHECK` build argument) is added to them. A file
/// BuildKit cannot read gives its error, with the findings BuildKit
/// reports before it.
pub fn lint_dockerfile(
    text: &str,
    cx: &LintContext,
    controls: &Controls,
) -> Result<Vec<Diagnostic>, Unreadable> {
    match crate::dockerfile::read(text) {
        Ok(program) => {
            let file = controls.merged(&file_controls(&program.directives, cx));
            Ok(dockerfile::lint(&program, text, cx, &file))
        }
        Err(error) => Err(Unreadable {
            findings: dockerfile::unreadable::findings_before(text, &error, cx, controls),
            error,
        }),
    }
}

/// The controls a Dockerfile sets for all of it: the build argument when
/// given (BuildKit then does not read the directive), else the `check`
/// directive.
fn file_controls(directives: &[crate::dockerfile::Directive], cx: &LintContext) -> Controls {
    if let Some(from_build_arg) = &cx.check_build_arg {
        return from_build_arg.clone();
    }
    directives
        .iter()
        .find(|d| d.name == "check")
        .and_then(|d| Controls::parse(d.value.split(' ').next().unwrap_or_default()).ok())
        .unwrap_or_default()
}

/// The rule name of a lint diagnostic (its code's last segment).
pub fn rule_name(diagnostic: &Diagnostic) -> Option<&'static str> {
    rules::by_code(diagnostic.code).map(|r| r.name)
}
