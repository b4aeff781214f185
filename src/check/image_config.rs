//! Image config values Docker would reject at build time: exposed ports
//! (`80`, `80/tcp`, `53/udp`, `8000-8010/tcp`, or a `$VAR`) and health-check
//! durations (Go durations such as `30s`, `1m30s`).

use super::codes;
use crate::config::model::{Health, Project};
use crate::diagnostics::{Diagnostic, Label};

/// Whether Docker accepts `text` after EXPOSE.
pub fn is_valid_port(text: &str) -> bool {
    if text.starts_with('$') {
        return true;
    }
    let (ports, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    let number = |p: &str| !p.is_empty() && p.parse::<u16>().is_ok();
    let range_ok = match ports.split_once('-') {
        Some((low, high)) => {
            number(low) && number(high) && low.parse::<u16>().ok() <= high.parse::<u16>().ok()
        }
        None => number(ports),
    };
    range_ok
        && matches!(
            protocol.to_ascii_lowercase().as_str(),
            "tcp" | "udp" | "sctp"
        )
}

/// Whether `text` is a Go duration with units (`30s`, `1m30s`, `500ms`).
pub fn is_valid_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(unit) => rest = &rest[unit.len()..],
            None => return false,
        }
    }
    true
}

pub(super) fn check_image_config(project: &Project) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for stage in &project.stages {
        for port in stage.image_configs().flat_map(|config| &config.expose) {
            if !is_valid_port(&port.value) {
                out.push(
                    Diagnostic::error(
                        codes::INVALID_PORT,
                        format!("`{}` is not a port Docker can expose", port.value),
                    )
                    .with_label(Label::primary(port.span, "not a port"))
                    .with_help("write a port number (`8080`), a range (`8000-8010`), or add a protocol (`53/udp`)"),
                );
            }
        }
        let Some(health) = &stage.config.healthcheck else {
            continue;
        };
        let Health::Check(table) = &health.value else {
            continue;
        };
        let durations = [
            ("interval", &table.interval),
            ("timeout", &table.timeout),
            ("start-period", &table.start_period),
            ("start-interval", &table.start_interval),
        ];
        for (key, value) in durations {
            if let Some(value) = value
                && !is_valid_duration(value)
            {
                out.push(
                    Diagnostic::error(
                        codes::INVALID_DURATION,
                        format!("health check `{key} = \"{value}\"` is not a duration"),
                    )
                    .with_label(Label::primary(
                        health.span,
                        format!("`{key}` is not a duration"),
                    ))
                    .with_help(format!(
                        "write `{key}` with units, e.g. `\"30s\"` or `\"1m30s\"`"
                    )),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        for ok in ["80", "80/tcp", "53/UDP", "8000-8010/tcp", "$PORT"] {
            assert!(is_valid_port(ok), "{ok}");
        }
        for bad in ["", "http", "70000", "80/icmp", "90-80", "/tcp"] {
            assert!(!is_valid_port(bad), "{bad}");
        }
    }

    #[test]
    fn durations() {
        for ok in ["30s", "1m30s", "500ms", "1.5h"] {
            assert!(is_valid_duration(ok), "{ok}");
        }
        for bad in ["", "30", "s", "5 s", "1d"] {
            assert!(!is_valid_duration(bad), "{bad}");
        }
    }
}
