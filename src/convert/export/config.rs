//! Image configuration: CMD, ENTRYPOINT, EXPOSE, LABEL, VOLUME,
//! HEALTHCHECK, STOPSIGNAL, MAINTAINER and ONBUILD, emitted after a
//! stage's steps.

use super::steps::{self, Lowered};
use super::words::{self, inexpressible};
use crate::config::forms::{CommandForm, HealthcheckTable};
use crate::config::model::{Health, ImageConfig};
use crate::diagnostics::Diagnostic;
use crate::located::{Located, Span};

/// The config instructions of one stage, in the documented order.
pub fn config(config: &ImageConfig) -> Result<Vec<Lowered>, Diagnostic> {
    let mut out = Vec::new();
    if let Some(cmd) = &config.cmd {
        out.push((format!("CMD {}", command(cmd)?), false));
    }
    if let Some(entrypoint) = &config.entrypoint {
        out.push((format!("ENTRYPOINT {}", command(entrypoint)?), false));
    }
    if !config.expose.is_empty() {
        let mut ports = Vec::new();
        for port in &config.expose {
            if port.is_empty() || port.chars().any(char::is_whitespace) {
                return Err(inexpressible(
                    port.span,
                    format!("`{}` is not a port", port.value),
                ));
            }
            ports.push(port.value.clone());
        }
        out.push((format!("EXPOSE {}", ports.join(" ")), false));
    }
    if !config.labels.is_empty() {
        out.push(steps::labels(&config.labels, Span::default())?);
    }
    if !config.volumes.is_empty() {
        let span = config.volumes[0].span;
        let paths: Vec<&str> = config.volumes.iter().map(|v| v.value.as_str()).collect();
        out.push((format!("VOLUME {}", words::paths(&paths, span)?), false));
    }
    if let Some(health) = &config.healthcheck {
        out.push(healthcheck(health)?);
    }
    if let Some(signal) = &config.stop_signal {
        out.push((
            format!(
                "STOPSIGNAL {}",
                words::rest_of_line(signal, signal.span, "the stop signal")?
            ),
            false,
        ));
    }
    if let Some(author) = &config.maintainer {
        out.push((
            format!(
                "MAINTAINER {}",
                words::rest_of_line(author, author.span, "the maintainer")?
            ),
            false,
        ));
    }
    for line in &config.onbuild {
        out.push((
            format!(
                "ONBUILD {}",
                words::rest_of_line(line, line.span, "an ONBUILD line")?
            ),
            false,
        ));
    }
    Ok(out)
}

/// Exec form as JSON, shell form as the rest of the line.
fn command(command: &Located<CommandForm>) -> Result<String, Diagnostic> {
    match &command.value {
        CommandForm::Exec(words) => Ok(words::json_array(words)),
        CommandForm::Shell(text) => words::rest_of_line(text, command.span, "the command"),
    }
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD …`; `--start-interval`
/// is newer than the classic builder.
fn healthcheck(health: &Located<Health>) -> Result<Lowered, Diagnostic> {
    let table: &HealthcheckTable = match &health.value {
        Health::None => return Ok(("HEALTHCHECK NONE".into(), false)),
        Health::Check(table) => table,
    };
    let span = health.span;
    let mut flags = Vec::new();
    let durations = [
        ("interval", &table.interval),
        ("timeout", &table.timeout),
        ("start-period", &table.start_period),
        ("start-interval", &table.start_interval),
    ];
    for (name, value) in durations {
        if let Some(value) = value {
            flags.push(words::flag(name, value, span)?);
        }
    }
    if let Some(retries) = table.retries {
        flags.push(format!("--retries={retries}"));
    }
    let cmd = match &table.cmd {
        CommandForm::Exec(words) => words::json_array(words),
        CommandForm::Shell(text) => words::rest_of_line(text, span, "the health check command")
            .map_err(|d| {
                if text.is_empty() {
                    inexpressible(span, "the health check needs a command".into())
                } else {
                    d
                }
            })?,
    };
    let mut text = String::from("HEALTHCHECK ");
    for flag in &flags {
        text.push_str(flag);
        text.push(' ');
    }
    text.push_str("CMD ");
    text.push_str(&cmd);
    Ok((text, table.start_interval.is_some()))
}
