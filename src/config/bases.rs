//! What a stage's `from` names once the global args have values.
//!
//! A `from` string holding variables is read as BuildKit reads a FROM
//! line: expanded with the global args (each one's build value when the
//! build gives one, else its default, expanded with the args declared
//! before it), then matched against the names of the stages written
//! before it. A match starts the stage from that stage; anything else is
//! an image. Checks, the graph, `plan` and the builds all ask here, so
//! they agree on every edge. A string without variables is never matched
//! against stage names: `{ stage = … }` says that.

use std::cell::RefCell;

use super::expand::expand;
use super::model::{ArgDecl, Base, Project, Stage};
use super::predefined_args::PLATFORM_ARGS;

/// The values the global args take, in declaration order: the build's
/// value for an arg it gives, else the arg's default expanded with the
/// values before it. Build values for undeclared names are not seen, as
/// in Docker; an arg with neither value is left out.
pub fn global_values<'d>(
    declared: impl IntoIterator<Item = (&'d str, Option<&'d str>)>,
    overrides: &[(String, String)],
) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = Vec::new();
    for (name, default) in declared {
        let given = overrides.iter().rev().find(|(k, _)| k == name);
        let value = match (given, default) {
            (Some((_, value)), _) => Some(value.clone()),
            (None, Some(default)) => Some(expand(default, &|n| lookup(&values, n))),
            (None, None) => None,
        };
        values.retain(|(k, _)| k != name);
        if let Some(value) = value {
            values.push((name.to_owned(), value));
        }
    }
    values
}

fn lookup(values: &[(String, String)], name: &str) -> Option<String> {
    values
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// `text` expanded with `values`, and whether the result can change with
/// the build: it reads a declared global arg (which a build arg can set)
/// or a platform arg.
pub fn expand_base(text: &str, declared: &[&str], values: &[(String, String)]) -> (String, bool) {
    let read = RefCell::new(Vec::<String>::new());
    let expanded = expand(text, &|name| {
        read.borrow_mut().push(name.to_owned());
        lookup(values, name)
    });
    // A platform arg can name another stage on another platform, whatever
    // the build args say.
    let dynamic = read
        .borrow()
        .iter()
        .any(|name| declared.contains(&name.as_str()) || PLATFORM_ARGS.contains(&name.as_str()));
    (expanded, dynamic)
}

/// The stage named `name` among `earlier`, the stages written before the
/// one whose base it is (BuildKit knows no later stage by then).
pub fn earlier_stage<'s>(
    earlier: impl IntoIterator<Item = &'s str>,
    name: &str,
) -> Option<&'s str> {
    earlier.into_iter().find(|stage| *stage == name)
}

impl Project {
    /// The global args' values with the build's `overrides`.
    pub fn global_values(&self, overrides: &[(String, String)]) -> Vec<(String, String)> {
        global_values(
            self.args
                .iter()
                .map(|a| (a.name.value.as_str(), a.default.as_deref())),
            overrides,
        )
    }

    /// What `stage` starts from when the build gives `overrides`: its
    /// `from` as written, except that a `from` with variables whose
    /// expansion names an earlier stage is that stage.
    pub fn base_with(&self, stage: &Stage, overrides: &[(String, String)]) -> Base {
        match &stage.from.value {
            Base::Image(text) if text.contains('$') => {
                let values = self.global_values(overrides);
                match self.stage_named_by(stage, text, &values) {
                    Some(name) => Base::Stage(name),
                    None => Base::Image(text.clone()),
                }
            }
            other => other.clone(),
        }
    }

    fn stage_named_by(
        &self,
        stage: &Stage,
        text: &str,
        values: &[(String, String)],
    ) -> Option<String> {
        let expanded = expand(text, &|name| lookup(values, name));
        let earlier = self
            .stages
            .iter()
            .take_while(|s| s.name.value != stage.name.value)
            .map(|s| s.name.value.as_str());
        earlier_stage(earlier, &expanded).map(str::to_owned)
    }

    /// The project as a build with `overrides` sees it: every `from` with
    /// variables that names a stage with these values, or with the
    /// defaults, is settled — the stage, or the image it expands to — so
    /// that graphs and back ends built from the result need no build args
    /// to read bases.
    pub fn with_bases_for(&self, overrides: &[(String, String)]) -> Project {
        let mut project = self.clone();
        let values = self.global_values(overrides);
        let defaults = self.global_values(&[]);
        for (index, stage) in self.stages.iter().enumerate() {
            let Base::Image(text) = &stage.from.value else {
                continue;
            };
            if !text.contains('$') {
                continue;
            }
            let settled = match self.stage_named_by(stage, text, &values) {
                Some(name) => Base::Stage(name),
                None if self.stage_named_by(stage, text, &defaults).is_some() => {
                    let image = expand(text, &|name| lookup(&values, name));
                    if image.contains(['$', '\\']) {
                        continue;
                    }
                    Base::Image(image)
                }
                None => continue,
            };
            project.stages[index].from.value = settled;
        }
        project
    }
}

/// The declared global args' names, for [`expand_base`].
pub fn declared_names(args: &[ArgDecl]) -> Vec<&str> {
    args.iter().map(|a| a.name.value.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceFile;

    fn project(text: &str) -> Project {
        let outcome = crate::check::check(&SourceFile::new("stages.toml", text));
        outcome
            .project
            .unwrap_or_else(|| panic!("{:?}", outcome.diagnostics))
    }

    const FLAVOURS: &str = r#"
[args]
FLAVOR = "cpu"

[stages.base-cpu]
from = "busybox:stages-test"

[stages.base-gpu]
from = "busybox:stages-test"

[stages.final]
from = "base-${FLAVOR}"
"#;

    #[test]
    fn a_from_with_variables_names_the_earlier_stage_it_expands_to() {
        let project = project(FLAVOURS);
        let last = &project.stages[2];
        assert_eq!(project.base_with(last, &[]), Base::Stage("base-cpu".into()));
        let gpu = [("FLAVOR".to_owned(), "gpu".to_owned())];
        assert_eq!(
            project.base_with(last, &gpu),
            Base::Stage("base-gpu".into())
        );
        let other = [("FLAVOR".to_owned(), "tpu".to_owned())];
        assert_eq!(
            project.base_with(last, &other),
            Base::Image("base-${FLAVOR}".into())
        );
        let settled = project.with_bases_for(&other);
        assert_eq!(settled.stages[2].from.value, Base::Image("base-tpu".into()));
        let settled = project.with_bases_for(&gpu);
        assert_eq!(settled.stages[2].from.value, Base::Stage("base-gpu".into()));
    }

    #[test]
    fn only_earlier_stages_and_declared_args_count() {
        let project = project(
            r#"
[stages.first]
from = "${NAME:-later}"

[stages.later]
from = "busybox:stages-test"

[stages.last]
from = "${UNDECLARED:-first}"
"#,
        );
        assert_eq!(
            project.base_with(&project.stages[0], &[]),
            Base::Image("${NAME:-later}".into())
        );
        // A build value for an arg no ARG declares is not seen by FROM.
        let given = [("UNDECLARED".to_owned(), "later".to_owned())];
        assert_eq!(
            project.base_with(&project.stages[2], &given),
            Base::Stage("first".into())
        );
    }

    #[test]
    fn defaults_read_the_args_before_them() {
        let declared = [("A", Some("x")), ("B", Some("${A}-y")), ("C", None)];
        let values = global_values(declared, &[]);
        assert_eq!(
            values,
            [("A".into(), "x".into()), ("B".into(), "x-y".into())]
        );
        let given = [("A".to_owned(), "z".to_owned())];
        let values = global_values(declared, &given);
        assert_eq!(values[1], ("B".into(), "z-y".into()));
        let (text, dynamic) = expand_base("base-${UNSET:-cpu}", &["A"], &values);
        assert_eq!((text.as_str(), dynamic), ("base-cpu", false));
        let (text, dynamic) = expand_base("base-${A}", &["A"], &values);
        assert_eq!((text.as_str(), dynamic), ("base-z", true));
        assert!(expand_base("base-${TARGETARCH}", &[], &[]).1);
    }
}
