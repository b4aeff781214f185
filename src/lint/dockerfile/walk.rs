//! The rules BuildKit applies while it dispatches a stage's instructions
//! in order: WorkdirRelativePath, JSONArgsRecommended,
//! MultipleInstructionsDisallowed, UndefinedVar, LegacyKeyValueFormat,
//! SecretsUsedInArgOrEnv, MaintainerDeprecated, ExposeProtoCasing and
//! ExposeInvalidFormat. A stage built on an earlier stage starts with what
//! that stage left: its env, whether it set a workdir and a shell.

use std::collections::HashSet;

use super::from::{expand_with, meta_arg_defaults};
use crate::check::{BaseEnv, expanded_names};
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::dockerfile::Program;
use crate::dockerfile::instructions::{Command, Instruction};
use crate::lint::finding::finding;
use crate::lint::rules;
use crate::located::Span;

/// Args BuildKit never puts in the env, so never reports.
const NON_ENV_ARGS: &[&str] = &["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

/// What a stage leaves to a stage built on it.
#[derive(Debug, Clone, Default)]
struct Inherited {
    env: HashSet<String>,
    workdir_set: bool,
    shell_set: bool,
}

struct StageWalk<'p> {
    escape: char,
    state: Inherited,
    /// ARG names declared in the stage so far.
    build_args: HashSet<String>,
    meta_args: &'p [(String, Option<String>)],
    cmd: Option<Span>,
    entrypoint: Option<Span>,
    healthcheck: Option<Span>,
    out: &'p mut Vec<Diagnostic>,
}

pub fn check(program: &Program<'_>, base_env: &BaseEnv, out: &mut Vec<Diagnostic>) {
    let meta = meta_arg_defaults(program);
    let mut left: Vec<Inherited> = Vec::with_capacity(program.stages.len());
    for (i, stage) in program.stages.iter().enumerate() {
        let base = stage.base();
        let state = match program.resolve(base).filter(|&j| j < i) {
            Some(j) => left[j].clone(),
            None => {
                let image = expand_with(base, &meta, program.escape);
                let mut env: HashSet<String> = base_env.get(&image).cloned().unwrap_or_default();
                // BuildKit always sets PATH.
                env.insert("PATH".to_owned());
                Inherited {
                    env,
                    ..Inherited::default()
                }
            }
        };
        let mut walk = StageWalk {
            escape: program.escape,
            state,
            build_args: HashSet::new(),
            meta_args: &meta,
            cmd: None,
            entrypoint: None,
            healthcheck: None,
            out: &mut *out,
        };
        for instruction in &stage.instructions {
            walk.instruction(instruction);
        }
        left.push(walk.state);
    }
}

impl StageWalk<'_> {
    /// Reports the names in one word that the stage does not know, once
    /// per word, as BuildKit does.
    fn expand(&mut self, word: &str, instruction: &Instruction<'_>) {
        let mut seen = HashSet::new();
        for name in expanded_names(word, self.escape, true) {
            if self.state.env.contains(&name)
                || self.build_args.contains(&name)
                || NON_ENV_ARGS.contains(&name.as_str())
                || !seen.insert(name.clone())
            {
                continue;
            }
            let suggestion = did_you_mean(&name, self.state.env.iter().map(String::as_str));
            let message = match suggestion {
                Some(close) => {
                    format!("Usage of undefined variable '${name}' (did you mean ${close}?)")
                }
                None => format!("Usage of undefined variable '${name}'"),
            };
            self.out.push(
                finding(
                    &rules::UNDEFINED_VAR,
                    instruction.span,
                    message,
                    format!("uses `${name}`"),
                )
                .with_help(format!(
                    "declare it first with `ARG {name}` or `ENV {name}=…` in this stage; \
                         a global ARG must be declared again inside the stage"
                )),
            );
        }
    }

    fn used_once(&mut self, instruction: &Instruction<'_>) {
        let slot = match &instruction.command {
            Command::Cmd(_) => &mut self.cmd,
            Command::Entrypoint(_) => &mut self.entrypoint,
            Command::Healthcheck(_) => &mut self.healthcheck,
            _ => return,
        };
        // The earlier one is reported: it is the one that is ignored.
        if let Some(earlier) = slot.replace(instruction.span) {
            let name = instruction.name();
            self.out.push(
                finding(
                    &rules::MULTIPLE_INSTRUCTIONS_DISALLOWED,
                    earlier,
                    format!(
                        "Multiple {name} instructions should not be used in the same stage because only the last one will be used"
                    ),
                    format!("this {name} is overridden later in the stage"),
                )
                .with_help(format!("remove this {name}, or merge it with the later one")),
            );
        }
    }

    fn instruction(&mut self, instruction: &Instruction<'_>) {
        self.used_once(instruction);
        match &instruction.command {
            Command::Env(pairs) => {
                for pair in pairs {
                    self.expand(&pair.value, instruction);
                }
                for pair in pairs {
                    self.legacy(pair.legacy, instruction);
                    self.secret("ENV", &pair.key, instruction);
                    self.state.env.insert(pair.key.to_string());
                }
            }
            Command::Label(pairs) => {
                for pair in pairs {
                    self.expand(&pair.key, instruction);
                    self.expand(&pair.value, instruction);
                }
                for pair in pairs {
                    self.legacy(pair.legacy, instruction);
                }
            }
            Command::Arg(args) => {
                for arg in args {
                    self.secret("ARG", &arg.name, instruction);
                    let global = self
                        .meta_args
                        .iter()
                        .find(|(name, _)| *name == arg.name)
                        .and_then(|(_, value)| value.as_ref());
                    if let Some(default) = &arg.default {
                        self.expand(default, instruction);
                    }
                    if arg.default.is_some() || global.is_some() {
                        self.state.env.insert(arg.name.to_string());
                    }
                    self.build_args.insert(arg.name.to_string());
                }
            }
            Command::Copy(copy) => {
                for word in [&copy.chown, &copy.chmod].into_iter().flatten() {
                    self.expand(word, instruction);
                }
                self.paths(&copy.paths, instruction);
            }
            Command::Add(add) => {
                for word in [&add.chown, &add.chmod, &add.checksum]
                    .into_iter()
                    .flatten()
                {
                    self.expand(word, instruction);
                }
                self.paths(&add.paths, instruction);
            }
            Command::Workdir(path) => {
                self.expand(path, instruction);
                if !self.state.workdir_set && !path.starts_with('/') && !path.starts_with('$') {
                    self.out.push(
                        finding(
                            &rules::WORKDIR_RELATIVE_PATH,
                            instruction.span,
                            format!("Relative workdir {path:?} can have unexpected results if the base image changes"),
                            "relative to the base image's workdir",
                        )
                        .with_help("start the path with `/`, or set an absolute WORKDIR earlier in the build"),
                    );
                }
                self.state.workdir_set = true;
            }
            Command::User(user) | Command::StopSignal(user) => self.expand(user, instruction),
            Command::Volume(volume) => {
                for path in &volume.paths {
                    self.expand(path, instruction);
                }
            }
            Command::Run(run) => {
                for mount in &run.mounts {
                    let fields = [
                        &mount.target,
                        &mount.source,
                        &mount.from,
                        &mount.id,
                        &mount.sharing,
                        &mount.mode,
                        &mount.uid,
                        &mount.gid,
                        &mount.size,
                        &mount.env,
                    ];
                    for word in fields.into_iter().flatten() {
                        self.expand(word, instruction);
                    }
                }
            }
            Command::Shell(_) => self.state.shell_set = true,
            Command::Cmd(line) | Command::Entrypoint(line) => {
                if !line.json && !self.state.shell_set {
                    let name = instruction.name();
                    self.out.push(
                        finding(
                            &rules::JSON_ARGS_RECOMMENDED,
                            instruction.span,
                            format!("JSON arguments recommended for {name} to prevent unintended behavior related to OS signals"),
                            "shell form: the program runs under `/bin/sh -c`",
                        )
                        .with_help(format!("write it as JSON: {name} [\"program\", \"arg\"]")),
                    );
                }
            }
            Command::Maintainer(_) => self.out.push(
                finding(
                    &rules::MAINTAINER_DEPRECATED,
                    instruction.span,
                    "Maintainer instruction is deprecated in favor of using label",
                    "deprecated",
                )
                .with_help("use `LABEL org.opencontainers.image.authors=\"…\"` instead"),
            ),
            Command::Expose(ports) => {
                for port in ports {
                    expose(port, instruction, &mut *self.out);
                }
            }
            Command::From(_) | Command::Healthcheck(_) | Command::Onbuild(_) => {}
        }
    }

    fn paths(
        &mut self,
        paths: &crate::dockerfile::instructions::Paths<'_>,
        instruction: &Instruction<'_>,
    ) {
        let heredoc_names: Vec<String> = paths.heredocs.iter().map(|h| h.name.clone()).collect();
        for source in &paths.sources {
            let is_heredoc = source
                .strip_prefix("<<")
                .map(|s| s.trim_start_matches('-').trim_matches(['"', '\'']))
                .is_some_and(|name| heredoc_names.iter().any(|h| h == name));
            if !is_heredoc {
                self.expand(source, instruction);
            }
        }
        self.expand(&paths.dest, instruction);
    }

    fn legacy(&mut self, legacy: bool, instruction: &Instruction<'_>) {
        if legacy {
            let name = instruction.name();
            self.out.push(
                finding(
                    &rules::LEGACY_KEY_VALUE_FORMAT,
                    instruction.span,
                    format!("\"{name} key=value\" should be used instead of legacy \"{name} key value\" format"),
                    "legacy `key value` form",
                )
                .with_help(format!("write `{name} key=value`")),
            );
        }
    }

    fn secret(&mut self, instruction_name: &str, key: &str, instruction: &Instruction<'_>) {
        if is_secret_name(key) {
            self.out.push(
                finding(
                    &rules::SECRETS_USED_IN_ARG_OR_ENV,
                    instruction.span,
                    format!("Do not use ARG or ENV instructions for sensitive data ({instruction_name} {key:?})"),
                    "the value stays in the image's history",
                )
                .with_help("pass secrets with `RUN --mount=type=secret` instead"),
            );
        }
    }
}

/// BuildKit's test for a secret-looking name: one `_`-separated word is a
/// secret word, and none is an allowed one.
pub fn is_secret_name(key: &str) -> bool {
    const DENY: &[&str] = &[
        "apikey",
        "auth",
        "credential",
        "credentials",
        "key",
        "password",
        "pword",
        "passwd",
        "secret",
        "token",
    ];
    const ALLOW: &[&str] = &["public", "file", "version"];
    let words: Vec<String> = key.split('_').map(str::to_lowercase).collect();
    words.iter().any(|w| DENY.contains(&w.as_str()))
        && !words.iter().any(|w| ALLOW.contains(&w.as_str()))
}

/// `[ip:][host:]port[/proto]`: the protocol's case, and whether an address
/// or host port is given. Returns (protocol not lower case, has a mapping).
pub fn expose_problems(raw: &str) -> (bool, bool) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (ip, host) = match n {
        1 => (String::new(), ""),
        2 => (String::new(), parts[0]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let container = parts[n - 1];
    let proto = container.split_once('/').map_or("", |(_, p)| p);
    (
        proto != proto.to_lowercase(),
        !ip.is_empty() || !host.is_empty(),
    )
}

fn expose(port: &str, instruction: &Instruction<'_>, out: &mut Vec<Diagnostic>) {
    let (proto_case, mapping) = expose_problems(port);
    if proto_case {
        out.push(
            finding(
                &rules::EXPOSE_PROTO_CASING,
                instruction.span,
                format!("Defined protocol '{port}' in EXPOSE instruction should be lowercase"),
                "protocol in upper case",
            )
            .with_help("write the protocol in lower case (`tcp`, `udp`)"),
        );
    }
    if mapping {
        out.push(
            finding(
                &rules::EXPOSE_INVALID_FORMAT,
                instruction.span,
                format!("EXPOSE instruction should not define an IP address or host-port mapping, found '{port}'"),
                "an address or host port",
            )
            .with_help("expose the container port only; map host ports when the container runs"),
        );
    }
}
