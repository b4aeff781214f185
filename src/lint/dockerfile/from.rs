//! The rules on `FROM`: UndefinedArgInFrom, InvalidDefaultArgInFrom,
//! RedundantTargetPlatform and FromPlatformFlagConstDisallowed. `FROM`
//! sees only the ARGs before the first FROM and BuildKit's platform args.

use crate::check::{expanded_names, reference_problem};
use crate::config::expand::expand;
use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::dockerfile::Program;
use crate::dockerfile::instructions::Command;
use crate::lint::finding::finding;
use crate::lint::rules;

/// The args BuildKit defines for `FROM` without a declaration.
pub const PLATFORM_ARGS: &[&str] = &[
    "BUILDARCH",
    "BUILDOS",
    "BUILDOSVERSION",
    "BUILDPLATFORM",
    "BUILDVARIANT",
    "TARGETARCH",
    "TARGETOS",
    "TARGETOSVERSION",
    "TARGETPLATFORM",
    "TARGETSTAGE",
    "TARGETVARIANT",
];

/// This machine's platform, the value the platform args have by default.
fn host_platform_value(name: &str) -> Option<String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    Some(match name {
        "BUILDPLATFORM" | "TARGETPLATFORM" => format!("linux/{arch}"),
        "BUILDOS" | "TARGETOS" => "linux".to_owned(),
        "BUILDARCH" | "TARGETARCH" => arch.to_owned(),
        _ => return None,
    })
}

/// The ARGs before the first FROM with their defaults, each expanded with
/// those before it, as BuildKit builds them without `--build-arg`.
pub fn meta_arg_defaults(program: &Program<'_>) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for instruction in &program.meta_args {
        let Command::Arg(args) = &instruction.command else {
            continue;
        };
        for arg in args {
            let value = arg
                .default
                .as_ref()
                .map(|d| unquoted(&expand_with(d, &out, program.escape)));
            out.retain(|(name, _)| *name != arg.name);
            out.push((arg.name.to_string(), value));
        }
    }
    out
}

/// A word without its shell quotes, as BuildKit reads an ARG's value.
fn unquoted(word: &str) -> String {
    word.chars().filter(|c| !matches!(c, '"' | '\'')).collect()
}

/// `text` expanded with the meta-ARGs' defaults and the platform args.
pub fn expand_with(text: &str, meta: &[(String, Option<String>)], _escape: char) -> String {
    let lookup = |name: &str| {
        meta.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| host_platform_value(name))
    };
    expand(text, &lookup)
}

pub fn check(program: &Program<'_>, out: &mut Vec<Diagnostic>) {
    let meta = meta_arg_defaults(program);
    let keys: Vec<&str> = meta
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(PLATFORM_ARGS.iter().copied())
        .collect();
    for stage in &program.stages {
        let Command::From(from) = &stage.from.command else {
            continue;
        };
        let span = stage.from.span;
        let mut words = vec![from.image.as_ref()];
        words.extend(from.platform.as_deref());
        for word in words {
            for name in expanded_names(word, program.escape, true) {
                if keys.contains(&name.as_str()) {
                    continue;
                }
                let message = match did_you_mean(&name, keys.iter().copied()) {
                    Some(close) => {
                        format!("FROM argument '{name}' is not declared (did you mean {close}?)")
                    }
                    None => format!("FROM argument '{name}' is not declared"),
                };
                out.push(
                    finding(
                        &rules::UNDEFINED_ARG_IN_FROM,
                        span,
                        message,
                        format!("uses `${name}`"),
                    )
                    .with_help(format!("declare it before the first FROM: `ARG {name}=…`")),
                );
            }
        }
        let image_names = expanded_names(&from.image, program.escape, true);
        if !image_names.is_empty() {
            let value = expand_with(&from.image, &meta, program.escape);
            if reference_problem(&value, true).is_some() {
                out.push(
                    finding(
                        &rules::INVALID_DEFAULT_ARG_IN_FROM,
                        span,
                        format!(
                            "Default value for ARG {} results in empty or invalid base image name",
                            from.image
                        ),
                        format!("with the defaults this is `{value}`"),
                    )
                    .with_help("give the ARGs it uses defaults that make a valid image name"),
                );
            }
        }
        if let Some(platform) = &from.platform {
            platform_rules(
                platform,
                from.alias.as_ref().map(|a| a.name.as_ref()),
                span,
                program.escape,
                out,
            );
        }
    }
}

fn platform_rules(
    platform: &str,
    stage_name: Option<&str>,
    span: crate::located::Span,
    escape: char,
    out: &mut Vec<Diagnostic>,
) {
    let names = expanded_names(platform, escape, true);
    let trimmed = platform.trim();
    if trimmed == "$TARGETPLATFORM" || trimmed == "${TARGETPLATFORM}" {
        out.push(
            finding(
                &rules::REDUNDANT_TARGET_PLATFORM,
                span,
                format!("Setting platform to predefined {platform} in FROM is redundant as this is the default behavior"),
                "the default platform",
            )
            .with_help("remove `--platform`"),
        );
    }
    if !names.is_empty() {
        return;
    }
    let Some((os, arch)) = parse_platform(trimmed) else {
        return;
    };
    let name = stage_name.unwrap_or_default();
    if name.contains(&os) || name.contains(&arch) {
        return;
    }
    out.push(
        finding(
            &rules::FROM_PLATFORM_FLAG_CONST_DISALLOWED,
            span,
            format!("FROM --platform flag should not use constant value {trimmed:?}"),
            "a constant platform",
        )
        .with_help(
            "use `$BUILDPLATFORM` or `$TARGETPLATFORM`, or name the stage after its platform",
        ),
    );
}

/// `os[/arch[/variant]]` or a lone architecture, normalised as containerd
/// does the common cases: (os, arch).
pub fn parse_platform(text: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = text.split('/').collect();
    let valid = |p: &&str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    if parts.len() > 3 || !parts.iter().all(valid) {
        return None;
    }
    let normal_arch = |a: &str| match a.to_lowercase().as_str() {
        "x86_64" | "x86-64" => "amd64".to_owned(),
        "aarch64" => "arm64".to_owned(),
        "armhf" | "armel" => "arm".to_owned(),
        "i386" => "386".to_owned(),
        other => other.to_owned(),
    };
    const OSES: &[&str] = &[
        "linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix",
        "android", "ios", "plan9", "js", "wasip1",
    ];
    let first = parts[0].to_lowercase();
    match parts.len() {
        1 if OSES.contains(&first.as_str()) => {
            let (_, arch) = host_os_arch();
            Some((first, arch))
        }
        1 => Some(("linux".to_owned(), normal_arch(&first))),
        _ => Some((first, normal_arch(parts[1]))),
    }
}

fn host_os_arch() -> (String, String) {
    let arch = host_platform_value("TARGETARCH").unwrap_or_default();
    ("linux".to_owned(), arch)
}
