//! What the native back end cannot honour, as diagnostics before anything
//! runs: on top of the checker's list for this back end (`ssh` mounts,
//! git sources…), ADD from URLs, `--checksum`, `--parents`, wildcards in
//! copies from another image, bind mounts from an external image,
//! `security` on a run step, a FROM platform, ONBUILD triggers of a base
//! stage that are not steps, and secrets that a step requires but
//! `--secret` does not give.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::pathmatch::has_wildcard;
use super::run_step::is_posix_shell;
use crate::check::{Backend as CheckedBackend, unsupported_features};
use crate::config::forms::CommandForm;
use crate::config::model::{MountKind, Project, StepKind};
use crate::diagnostics::{Diagnostic, Label};
use crate::engine::codes;
use crate::located::Span;

const HELP: &str = "use `--backend dockerfile`, or change the step";

fn refuse(feature: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        codes::UNSUPPORTED_FEATURE,
        format!("the native builder cannot honour {feature}"),
    )
    .with_label(Label::primary(span, format!("{feature} is used here")))
    .with_help(HELP)
}

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
        if let Some(platform) = &stage.platform {
            out.push(refuse("a stage platform", platform.span));
        }
        // The base stage's ONBUILD triggers run here, as steps.
        if let crate::config::model::Base::Stage(base) = &stage.from.value
            && let Some(base) = project.stage(base)
        {
            for trigger in &base.config.onbuild {
                if crate::convert::trigger_step(&trigger.value, &[], 0).is_err() {
                    out.push(refuse(
                        &format!(
                            "the ONBUILD trigger `{}` of stage `{}`",
                            trigger.value, base.name.value
                        ),
                        trigger.span,
                    ));
                }
            }
        }
        let mut shell = stage.shell.as_ref().map(|s| s.value.clone());
        for step in &stage.steps {
            match &step.kind {
                StepKind::Shell(words) => shell = Some(words.value.clone()),
                StepKind::Run(run) => {
                    let exported = matches!(run.command.value, CommandForm::Shell(_))
                        && shell
                            .as_ref()
                            .and_then(|words| words.first())
                            .is_none_or(|program| is_posix_shell(program));
                    if !exported
                        && let Some(mount) = run
                            .mounts
                            .iter()
                            .find(|m| m.value.kind == MountKind::Secret && m.value.env.is_some())
                    {
                        // The Engine's commit would keep the variable in the image.
                        out.push(refuse(
                            "a secret as an environment variable outside a POSIX shell-form run",
                            mount.span,
                        ));
                    }
                    if let Some(security) = &run.security {
                        out.push(refuse("`security` on a run step", security.span));
                    }
                    for mount in &run.mounts {
                        let m = &mount.value;
                        if m.kind == MountKind::Bind
                            && let Some(from) = &m.from
                            && project.stage(&from.value).is_none()
                        {
                            out.push(refuse("bind mounts from an external image", from.span));
                        }
                        if m.kind == MountKind::Secret && m.required == Some(true) {
                            let id = m.id.clone().or_else(|| {
                                m.target
                                    .as_ref()
                                    .and_then(|t| t.rsplit('/').next().map(str::to_owned))
                            });
                            if let Some(id) = id.filter(|id| !secrets.contains_key(id)) {
                                out.push(
                                    Diagnostic::error(
                                        codes::UNSUPPORTED_FEATURE,
                                        format!(
                                            "the step requires secret `{id}`, which was not given"
                                        ),
                                    )
                                    .with_label(Label::primary(mount.span, "required here"))
                                    .with_help(format!("pass `--secret id={id},src=PATH`")),
                                );
                            }
                        }
                    }
                }
                StepKind::Copy(copy) => {
                    if copy.parents {
                        out.push(refuse("`parents` on copies", step.span));
                    }
                    if copy.from.is_some()
                        && let Some(source) = copy.sources.iter().find(|s| has_wildcard(&s.value))
                    {
                        out.push(refuse(
                            "wildcards in a copy from another stage or image",
                            source.span,
                        ));
                    }
                }
                StepKind::Add(add) => {
                    if add.parents {
                        out.push(refuse("`parents` on add", step.span));
                    }
                    if let Some(checksum) = &add.checksum {
                        out.push(refuse("`checksum` on add", checksum.span));
                    }
                    if let Some(url) = add.sources.iter().find(|s| s.value.contains("://")) {
                        out.push(refuse("add from a URL", url.span));
                    }
                }
                _ => {}
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
            messages.iter().any(|m| m.contains("wildcards")),
            "{messages:?}"
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
