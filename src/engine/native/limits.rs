//! What the native back end cannot honour, as diagnostics before anything
//! runs: the checker's list for this back end (`check --backend native`
//! reports the same), the ONBUILD triggers of a base stage that are not
//! steps as the import of a trigger reads them, and secrets that a step
//! requires but `--secret` does not give.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::check::{Backend as CheckedBackend, unsupported_features};
use crate::config::model::{MountKind, Project, StepKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::codes;

/// Every feature of `stages` the native back end cannot honour.
pub fn native_limits(
    project: &Project,
    stages: &[String],
    secrets: &BTreeMap<String, PathBuf>,
) -> Vec<Diagnostic> {
    let mut out = unsupported_features(project, CheckedBackend::Native, stages);
    for stage in project
        .stages
        .iter()
        .filter(|s| stages.contains(&s.name.value))
    {
        // The checker tells step triggers by their keyword; one it passes
        // that still does not read as a step (a flag no step takes) is
        // refused here.
        if let crate::config::model::Base::Stage(base) = &stage.from.value
            && let Some(base) = project.stage(base)
        {
            for trigger in &base.config.onbuild {
                let already = out.iter().any(|d| d.primary_span() == Some(trigger.span));
                if !already && crate::convert::trigger_step(&trigger.value, &[], 0).is_err() {
                    out.push(
                        Diagnostic::error(
                            codes::UNSUPPORTED_FEATURE,
                            format!(
                                "the native builder cannot honour the ONBUILD trigger `{}` of stage `{}`",
                                trigger.value, base.name.value
                            ),
                        )
                        .with_label(Label::primary(trigger.span, "this trigger"))
                        .with_help("use `--backend dockerfile`, or change the trigger"),
                    );
                }
            }
        }
        for step in &stage.steps {
            let StepKind::Run(run) = &step.kind else {
                continue;
            };
            for mount in &run.mounts {
                let m = &mount.value;
                if m.kind.is(MountKind::Secret) && m.required == Some(true) {
                    let id = m.id.clone().or_else(|| {
                        m.target
                            .as_ref()
                            .and_then(|t| t.rsplit('/').next().map(str::to_owned))
                    });
                    if let Some(id) = id.filter(|id| !secrets.contains_key(id)) {
                        out.push(
                            Diagnostic::error(
                                codes::UNSUPPORTED_FEATURE,
                                format!("the step requires secret `{id}`, which was not given"),
                            )
                            .with_label(Label::primary(mount.span, "required here"))
                            .with_help(format!("pass `--secret id={id},src=PATH`")),
                        );
                    }
                }
            }
        }
    }
    out
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

    #[test]
    fn refuses_what_the_native_builder_cannot_honour_before_the_build() {
        let project = project(
            r#"
[stages.a]
from = "busybox"
steps = [
  { run = "true", mounts = [{ type = "ssh" }] },
  { run = "true", mounts = [{ type = "secret", id = "token", required = true }] },
  { add = "https://example.com/x.tar", to = "/x" },
  { copy = "/out/*.bin", from = "b", to = "/bin/" },
  { run = ["cat"], mounts = [{ type = "secret", id = "k", env = "K" }] },
]

[stages.b]
from = "busybox"
"#,
        );
        let stages = vec!["a".to_owned(), "b".to_owned()];
        let found = native_limits(&project, &stages, &BTreeMap::new());
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages.iter().any(|m| m.contains("`ssh` mounts")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("secret `token`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("add from a URL")),
            "{messages:?}"
        );
        assert!(
            !messages.iter().any(|m| m.contains("wildcards")),
            "a wildcard in a copy from a stage is copied as BuildKit does: {messages:?}"
        );
        assert!(found.iter().all(|d| d.primary_span().is_some()));

        let secrets = BTreeMap::from([("token".to_owned(), PathBuf::from("/dev/null"))]);
        let found = native_limits(&project, &["b".to_owned()], &secrets);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn onbuild_triggers_of_a_base_stage_must_be_steps() {
        let project = project(
            r#"
[stages.base]
from = "busybox"
onbuild = ["RUN make", "CMD [\"serve\"]"]

[stages.app]
from = { stage = "base" }
"#,
        );
        let stages = vec!["base".to_owned(), "app".to_owned()];
        let found = native_limits(&project, &stages, &BTreeMap::new());
        let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("CMD"), "{messages:?}");
    }
}
