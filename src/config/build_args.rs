//! Build arguments a build is given that no ARG of the build declares.
//! Docker ignores them with a warning ("One or more build-args [...] were
//! not consumed"); stages warns too, naming the declared arg closest to
//! each, since the usual cause is a typo.

use super::model::{Project, StepKind};
use crate::diagnostics::did_you_mean;

/// Args the build itself reads, beside the proxy args Docker accepts
/// without a declaration.
const READ_BY_THE_BUILD: &[&str] = &["SOURCE_DATE_EPOCH"];

/// A build argument nothing declares, and the declared name it is
/// probably meant to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconsumed {
    pub name: String,
    pub suggestion: Option<String>,
}

/// The names in `given` that neither a global arg nor an arg of one of
/// `stages` declares, in the order given.
pub fn unconsumed_build_args<'g>(
    project: &Project,
    stages: &[String],
    given: impl IntoIterator<Item = &'g str>,
) -> Vec<Unconsumed> {
    let mut declared: Vec<&str> = project.args.iter().map(|a| a.name.value.as_str()).collect();
    for stage in project
        .stages
        .iter()
        .filter(|s| stages.contains(&s.name.value))
    {
        declared.extend(stage.args.iter().map(|a| a.name.value.as_str()));
        for step in &stage.steps {
            if let StepKind::Arg(decls) = &step.kind {
                declared.extend(decls.iter().map(|a| a.name.value.as_str()));
            }
        }
    }
    given
        .into_iter()
        .filter(|name| {
            !declared.iter().any(|known| known == name)
                && !READ_BY_THE_BUILD.contains(name)
                && !crate::config::predefined_args::PROXY_ARGS.contains(name)
                && !name.starts_with("BUILDKIT_")
        })
        .map(|name| Unconsumed {
            name: name.to_owned(),
            suggestion: did_you_mean(name, declared.iter().copied()).map(str::to_owned),
        })
        .collect()
}

impl Unconsumed {
    /// The warning, as `stages build` and `plan` print it.
    pub fn message(&self) -> String {
        let mut text = format!(
            "--build-arg {} is not consumed: no ARG of the stages built declares it",
            self.name
        );
        if let Some(close) = &self.suggestion {
            text.push_str(&format!(" (did you mean `{close}`?)"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;

    #[test]
    fn undeclared_build_args_are_named_with_the_closest_declared_one() {
        let text = r#"
[args]
BASE = "busybox:stages-test"

[stages.app]
from = "${BASE}"
args = { VERSION = "1" }
steps = [{ arg = { CHANNEL = "stable" } }]

[stages.other]
from = "busybox:stages-test"
args = { ONLY_HERE = "1" }
"#;
        let project = crate::check::check(&SourceFile::new("stages.toml", text))
            .project
            .expect("valid project");
        let stages = ["app".to_owned()];
        let given = [
            "BAES",
            "BASE",
            "VERSION",
            "CHANNEL",
            "HTTP_PROXY",
            "ONLY_HERE",
            "ZZZ",
        ];
        let found = unconsumed_build_args(&project, &stages, given);
        assert_eq!(
            found,
            [
                Unconsumed {
                    name: "BAES".into(),
                    suggestion: Some("BASE".into())
                },
                Unconsumed {
                    name: "ONLY_HERE".into(),
                    suggestion: None
                },
                Unconsumed {
                    name: "ZZZ".into(),
                    suggestion: None
                },
            ]
        );
        assert_eq!(
            found[0].message(),
            "--build-arg BAES is not consumed: no ARG of the stages built declares it (did you mean `BASE`?)"
        );
    }
}
