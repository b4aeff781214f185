//! Image configuration instructions (CMD, ENTRYPOINT, EXPOSE, LABEL,
//! VOLUME, HEALTHCHECK, STOPSIGNAL, ONBUILD, MAINTAINER) folded into
//! `ImageConfig`: the last CMD/ENTRYPOINT/HEALTHCHECK/STOPSIGNAL/MAINTAINER
//! wins, as in a build;
//! EXPOSE, VOLUME and ONBUILD accumulate; a later LABEL replaces a key.

use super::context::{Context, malformed};
use super::steps::{command, flags, no_flags, one, pairs};
use crate::config::forms::{CommandForm, HealthcheckTable};
use crate::config::model::{Health, ImageConfig};
use crate::diagnostics::Diagnostic;
use crate::dockerfile::Node;
use crate::located::Located;

/// The config key a keyword feeds, if it is a config instruction.
pub fn key_of(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "cmd" => "cmd",
        "entrypoint" => "entrypoint",
        "expose" => "expose",
        "label" => "labels",
        "volume" => "volumes",
        "healthcheck" => "healthcheck",
        "stopsignal" => "stop-signal",
        "onbuild" => "onbuild",
        "maintainer" => "maintainer",
        _ => return None,
    })
}

pub fn apply(node: &Node, cx: &Context, config: &mut ImageConfig) -> Result<(), Diagnostic> {
    let here = |v| Located::new(v, node.span);
    match node.name().as_ref() {
        "cmd" => {
            no_flags(node)?;
            config.cmd = Some(here(command(node)?));
        }
        "entrypoint" => {
            no_flags(node)?;
            config.entrypoint = Some(here(command(node)?));
        }
        "expose" => {
            no_flags(node)?;
            config.expose.extend(
                node.args
                    .iter()
                    .map(|p| Located::new(container_port(p), node.span)),
            );
        }
        "label" => {
            for (key, value) in pairs(node, cx)? {
                config.labels.retain(|(k, _)| *k != key.value);
                config.labels.push((key.value, value.value));
            }
        }
        "volume" => {
            no_flags(node)?;
            config.volumes.extend(
                node.args
                    .iter()
                    .map(|p| Located::new(p.to_string(), node.span)),
            );
        }
        "healthcheck" => config.healthcheck = Some(Located::new(healthcheck(node, cx)?, node.span)),
        "stopsignal" => config.stop_signal = Some(Located::new(one(node)?, node.span)),
        "onbuild" => config
            .onbuild
            .push(Located::new(onbuild_line(node)?, node.span)),
        "maintainer" => config.maintainer = Some(Located::new(one(node)?, node.span)),
        _ => return Err(malformed(node, "not an image configuration instruction")),
    }
    Ok(())
}

/// The port an EXPOSE word exposes. A host mapping
/// (`127.0.0.1:8080:80/udp`, `[::1]:80:80`, `5000:5000`), which BuildKit
/// accepts with a warning, exposes its container port only (`80/udp`).
fn container_port(word: &str) -> String {
    if word.contains('$') || !word.contains(':') {
        return word.to_owned();
    }
    let (spec, protocol) = match word.rsplit_once('/') {
        Some((spec, protocol)) => (spec, Some(protocol)),
        None => (word, None),
    };
    let container = spec.rsplit(':').next().unwrap_or(spec);
    match protocol {
        Some(protocol) => format!("{container}/{protocol}"),
        None => container.to_owned(),
    }
}

fn onbuild_line(node: &Node) -> Result<String, Diagnostic> {
    let original = node.original.trim_start();
    let rest = original.get(node.keyword.len()..).unwrap_or("").trim();
    if rest.is_empty() {
        return Err(malformed(node, "ONBUILD needs an instruction"));
    }
    Ok(rest.to_owned())
}

fn healthcheck(node: &Node, cx: &Context) -> Result<Health, Diagnostic> {
    let Some((kind, rest)) = node.args.split_first() else {
        return Err(malformed(node, "HEALTHCHECK needs NONE or CMD"));
    };
    if kind.eq_ignore_ascii_case("none") {
        if rest.is_empty() && node.flags.is_empty() {
            return Ok(Health::None);
        }
        return Err(malformed(node, "HEALTHCHECK NONE takes no arguments"));
    }
    if !kind.eq_ignore_ascii_case("cmd") || rest.is_empty() {
        return Err(malformed(
            node,
            "HEALTHCHECK needs NONE or CMD followed by a command",
        ));
    }
    let cmd = if node.json {
        CommandForm::Exec(rest.iter().map(|a| a.to_string()).collect())
    } else {
        CommandForm::Shell(rest.join(" "))
    };
    let mut table = HealthcheckTable {
        cmd,
        interval: None,
        timeout: None,
        start_period: None,
        start_interval: None,
        retries: None,
    };
    for flag in flags(node, cx)? {
        let value = flag.value.clone();
        match flag.name.as_str() {
            "interval" => table.interval = value,
            "timeout" => table.timeout = value,
            "start-period" => table.start_period = value,
            "start-interval" => table.start_interval = value,
            "retries" => {
                table.retries = Some(
                    value
                        .and_then(|v| v.parse().ok())
                        .ok_or_else(|| malformed(node, "`--retries` takes a number"))?,
                );
            }
            other => {
                return Err(malformed(
                    node,
                    &format!("unknown HEALTHCHECK flag `--{other}`"),
                ));
            }
        }
    }
    Ok(Health::Check(table))
}

#[cfg(test)]
mod tests {
    use super::container_port;

    #[test]
    fn host_mappings_expose_their_container_port() {
        assert_eq!(container_port("127.0.0.1:80:80"), "80");
        assert_eq!(container_port("[::1]:8080:8080/udp"), "8080/udp");
        assert_eq!(container_port("5000-5001:6000-6001"), "6000-6001");
        assert_eq!(container_port("8000/tcp"), "8000/tcp");
        assert_eq!(container_port("${HOST}:80"), "${HOST}:80");
    }
}
