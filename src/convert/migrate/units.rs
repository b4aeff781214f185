//! The Dockerfiles a script builds, each read once and imported: a build
//! unit is one (Dockerfile, context, `--target`) however many times the
//! script builds it (with other tags or build args). `MAINTAINER`, which
//! stages.toml has no key for, becomes the `maintainer` label, as Docker's
//! documentation advises.

use std::path::Path;

use super::codes;
use super::plan::PlannedBuild;
use crate::config::model::Project;
use crate::config::write::Notes;
use crate::convert::{ImportOptions, import_dockerfile};
use crate::diagnostics::{Diagnostic, Label, SourceFile};
use crate::dockerfile::parse;

/// One imported Dockerfile.
#[derive(Debug, Clone)]
pub struct Unit {
    pub dockerfile: String,
    pub context: String,
    pub target: Option<String>,
    /// Index into the migration's files.
    pub file: usize,
    pub project: Project,
    pub notes: Notes,
    /// The builds (indexes into the plan) that use it, in script order.
    pub builds: Vec<usize>,
}

/// A diagnostic on one of the migration's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Index into the files: 0 is the script.
    pub file: usize,
    pub diagnostic: Diagnostic,
}

/// Reads and imports the Dockerfile of every build. A build whose
/// Dockerfile is missing is left out (a warning); one that cannot be read
/// or converted is an error.
pub fn load_units(
    root: &Path,
    builds: &[PlannedBuild],
    files: &mut Vec<SourceFile>,
    findings: &mut Vec<Finding>,
) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    for (index, build) in builds.iter().enumerate() {
        let target = build.target.as_ref().map(|t| t.value.clone());
        if let Some(unit) = units.iter_mut().find(|u| {
            u.dockerfile == build.dockerfile && u.context == build.context && u.target == target
        }) {
            unit.builds.push(index);
            continue;
        }
        let path = root.join(&build.dockerfile);
        let text = match crate::input::read_file(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) => {
                let (code, message) = if error.kind() == std::io::ErrorKind::NotFound {
                    (
                        codes::MISSING_DOCKERFILE,
                        format!(
                            "`{}` is not in the project; this build was left out",
                            build.dockerfile
                        ),
                    )
                } else {
                    (
                        codes::DOCKERFILE,
                        format!("cannot read `{}`: {error}", build.dockerfile),
                    )
                };
                let mut diagnostic = Diagnostic::warning(code, message)
                    .with_label(Label::primary(build.dockerfile_span, "this Dockerfile"))
                    .with_help(
                        "add the Dockerfile and migrate again, or migrate this build by hand",
                    );
                if code == codes::DOCKERFILE {
                    diagnostic.severity = crate::diagnostics::Severity::Error;
                }
                findings.push(Finding {
                    file: 0,
                    diagnostic,
                });
                continue;
            }
        };
        let file = files.len();
        files.push(SourceFile::new(build.dockerfile.clone(), text.as_str()));
        let mut dockerfile = match parse(&text) {
            Ok(parsed) => parsed,
            Err(diagnostic) => {
                findings.push(Finding { file, diagnostic });
                continue;
            }
        };
        for node in &mut dockerfile.nodes {
            if node.name() == "maintainer" {
                findings.push(Finding {
                    file,
                    diagnostic: Diagnostic::warning(
                        codes::MAINTAINER,
                        "`MAINTAINER` is deprecated; it became the `maintainer` label",
                    )
                    .with_label(Label::primary(node.span, "now `labels = { maintainer = … }`"))
                    .with_help("images keep the name in a label rather than in the Author field; nothing to do unless a tool reads Author"),
                });
                maintainer_to_label(node);
            }
        }
        match import_dockerfile(&dockerfile, &ImportOptions::default()) {
            Ok(imported) => units.push(Unit {
                dockerfile: build.dockerfile.clone(),
                context: build.context.clone(),
                target,
                file,
                project: imported.project,
                notes: imported.notes,
                builds: vec![index],
            }),
            Err(diagnostics) => findings.extend(
                diagnostics
                    .into_iter()
                    .map(|diagnostic| Finding { file, diagnostic }),
            ),
        }
    }
    units
}

/// `MAINTAINER name` → `LABEL maintainer="name"` (key, quoted value, separator).
fn maintainer_to_label(node: &mut crate::dockerfile::Node) {
    let name = node.args.join(" ");
    let quoted = format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
    node.keyword = "LABEL".into();
    node.args = smallvec::smallvec!["maintainer".into(), quoted.into(), "=".into()];
    node.flags.clear();
}
