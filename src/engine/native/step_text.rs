//! The canonical, one-line text of a step: shown in progress, stored in the
//! `dev.stages.step` label and hashed into the step cache key. Two steps
//! with the same meaning get the same text, whatever the TOML spelling.

use crate::config::forms::CommandForm;
use crate::config::model::{Copy, CopyFrom, CopyOptions, ImageConfig, Mount, Run, StepKind};
use crate::located::Located;

fn quote(words: &[String]) -> String {
    serde_json::to_string(words).unwrap_or_default()
}

fn command(form: &CommandForm) -> String {
    match form {
        CommandForm::Shell(text) => text.clone(),
        CommandForm::Exec(words) => quote(words),
    }
}

fn options(options: &CopyOptions) -> String {
    let mut out = String::new();
    if let Some(chown) = &options.chown {
        out.push_str(&format!("--chown={} ", chown.value));
    }
    if let Some(chmod) = &options.chmod {
        out.push_str(&format!("--chmod={} ", chmod.value));
    }
    if options.link {
        out.push_str("--link ");
    }
    out
}

fn mount(mount: &Mount) -> String {
    let mut parts = vec![format!("type={}", mount.kind.as_str())];
    let mut push = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            parts.push(format!("{key}={value}"));
        }
    };
    push("target", mount.target.clone());
    push("source", mount.source.clone());
    push("from", mount.from.as_ref().map(|f| f.value.clone()));
    push("id", mount.id.clone());
    push("sharing", mount.sharing.clone());
    push("readonly", mount.readonly.map(|b| b.to_string()));
    push("required", mount.required.map(|b| b.to_string()));
    push("mode", mount.mode.clone());
    push("uid", mount.uid.map(|n| n.to_string()));
    push("gid", mount.gid.map(|n| n.to_string()));
    push("size", mount.size.clone());
    push("env", mount.env.clone());
    format!("--mount={} ", parts.join(","))
}

fn run(run: &Run) -> String {
    let mut out = String::from("RUN ");
    for m in &run.mounts {
        out.push_str(&mount(&m.value));
    }
    if let Some(network) = &run.network {
        out.push_str(&format!("--network={} ", network.value));
    }
    if let Some(security) = &run.security {
        out.push_str(&format!("--security={} ", security.value));
    }
    out.push_str(&command(&run.command.value));
    out
}

fn copy(copy: &Copy) -> String {
    let mut out = String::from("COPY ");
    match &copy.from {
        Some(CopyFrom::Stage(stage)) => out.push_str(&format!("--from={} ", stage.value)),
        Some(CopyFrom::Image(image)) => out.push_str(&format!("--from={} ", image.value)),
        None => {}
    }
    out.push_str(&options(&copy.options));
    for exclude in &copy.exclude {
        out.push_str(&format!("--exclude={} ", exclude.value));
    }
    if copy.parents {
        out.push_str("--parents ");
    }
    let words: Vec<String> = copy
        .sources
        .iter()
        .chain(std::iter::once(&copy.to))
        .map(|w| w.value.clone())
        .collect();
    out.push_str(&quote(&words));
    out
}

/// The canonical text of one step.
pub fn step_text(kind: &StepKind) -> String {
    match kind {
        StepKind::Run(r) => run(r),
        StepKind::Copy(c) => copy(c),
        StepKind::Artifact(a) => format!(
            "COPY {}--artifact={} {}",
            options(&a.options),
            a.artifact.value,
            quote(std::slice::from_ref(&a.to.value))
        ),
        StepKind::Add(add) => {
            let mut out = format!("ADD {}", options(&add.options));
            if let Some(checksum) = &add.checksum {
                out.push_str(&format!("--checksum={} ", checksum.value));
            }
            if add.keep_git_dir {
                out.push_str("--keep-git-dir ");
            }
            for exclude in &add.exclude {
                out.push_str(&format!("--exclude={} ", exclude.value));
            }
            let words: Vec<String> = add
                .sources
                .iter()
                .chain(std::iter::once(&add.to))
                .map(|w| w.value.clone())
                .collect();
            out.push_str(&quote(&words));
            out
        }
        StepKind::Env(pairs) => {
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", k.value, quote(std::slice::from_ref(&v.value))))
                .collect();
            format!("ENV {}", body.join(" "))
        }
        StepKind::Workdir(dir) => format!("WORKDIR {}", dir.value),
        StepKind::User(user) => format!("USER {}", user.value),
        StepKind::Arg(decls) => {
            let body: Vec<String> = decls
                .iter()
                .map(|d| match &d.default {
                    Some(default) => format!("{}={}", d.name.value, default),
                    None => d.name.value.clone(),
                })
                .collect();
            format!("ARG {}", body.join(" "))
        }
        StepKind::Shell(words) => format!("SHELL {}", quote(&words.value)),
        StepKind::Config(config) => config_text(config),
    }
}

/// A config step as the instruction it stands for.
fn config_text(config: &ImageConfig) -> String {
    let values = |items: &[Located<String>]| {
        let words: Vec<String> = items.iter().map(|i| i.value.clone()).collect();
        words.join(" ")
    };
    let body = if let Some(cmd) = &config.cmd {
        command(&cmd.value)
    } else if let Some(entrypoint) = &config.entrypoint {
        command(&entrypoint.value)
    } else if !config.expose.is_empty() {
        values(&config.expose)
    } else if !config.volumes.is_empty() {
        values(&config.volumes)
    } else if let Some(signal) = &config.stop_signal {
        signal.value.clone()
    } else {
        let pairs: Vec<String> = config
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={}", quote(std::slice::from_ref(v))))
            .collect();
        pairs.join(" ")
    };
    format!("{} {body}", config.keyword())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{MountKind, MountType};
    use crate::located::{Located, Span};

    #[test]
    fn text_ignores_spans_and_shows_meaning() {
        let at = |span| Located::new(CommandForm::Shell("make".into()), Span::new(span, span + 4));
        let run_at = |span| {
            StepKind::Run(Run {
                command: at(span),
                mounts: vec![Located::unplaced(Mount {
                    kind: MountType::Known(MountKind::Cache),
                    target: Some("/root/.cache".into()),
                    ..Mount::default()
                })],
                network: None,
                security: None,
                devices: Vec::new(),
            })
        };
        assert_eq!(step_text(&run_at(1)), step_text(&run_at(50)));
        assert_eq!(
            step_text(&run_at(1)),
            "RUN --mount=type=cache,target=/root/.cache make"
        );
        let exec = StepKind::Run(Run {
            command: Located::unplaced(CommandForm::Exec(vec!["make".into()])),
            mounts: vec![],
            network: None,
            security: None,
            devices: Vec::new(),
        });
        assert_eq!(step_text(&exec), r#"RUN ["make"]"#);
    }
}
