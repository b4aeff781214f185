//! A stage's order-free image configuration (CMD, ENTRYPOINT, EXPOSE,
//! LABEL, VOLUME, HEALTHCHECK, STOPSIGNAL, ONBUILD, MAINTAINER) applied to the tracked
//! `ImageSettings` as Docker's builder does, and the argv of a shell- or
//! exec-form command.

use super::engine_api::{HealthSettings, ImageSettings};
use super::expand::ExpandError;
use super::scope::StageScope;
use crate::config::forms::CommandForm;
use crate::config::model::{Health, ImageConfig};

/// The default `SHELL`.
pub fn default_shell() -> Vec<String> {
    vec!["/bin/sh".to_owned(), "-c".to_owned()]
}

/// The argv a command runs as: exec form as is, shell form through `shell`.
pub fn command_argv(form: &CommandForm, shell: Option<&[String]>) -> Vec<String> {
    match form {
        CommandForm::Exec(words) => words.clone(),
        CommandForm::Shell(text) => {
            let mut argv = shell.map_or_else(default_shell, <[String]>::to_vec);
            // Continuation lines are joined before the shell sees them, as Docker does.
            argv.push(crate::config::continued::command_text(text).into_owned());
            argv
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Expand(#[from] ExpandError),
    #[error("invalid duration {0:?} in HEALTHCHECK (expected e.g. 30s, 1m30s)")]
    Duration(String),
}

/// Apply image configuration: the stage's at the end of the stage, a
/// config step's at its place. `sets_cmd`: some CMD of the stage sets the
/// command, which an ENTRYPOINT then keeps.
pub fn apply_image_config(
    settings: &mut ImageSettings,
    config: &ImageConfig,
    scope: &StageScope,
    sets_cmd: bool,
) -> Result<(), SettingsError> {
    let shell = settings.shell.clone();
    if let Some(entrypoint) = &config.entrypoint {
        // `ENTRYPOINT []` leaves none, written `null` as the classic builder does.
        let argv = command_argv(&entrypoint.value, shell.as_deref());
        settings.entrypoint = (!argv.is_empty()).then_some(argv);
        // Docker drops an inherited CMD when the stage sets ENTRYPOINT only.
        if !sets_cmd {
            settings.cmd = None;
        }
    }
    if let Some(cmd) = &config.cmd {
        settings.cmd = Some(command_argv(&cmd.value, shell.as_deref()));
    }
    for port in &config.expose {
        for word in super::expand::expand_words(&port.value, &scope.vars())? {
            let port = if word.contains('/') {
                word.to_lowercase()
            } else {
                format!("{word}/tcp")
            };
            settings.exposed_ports.insert(port);
        }
    }
    for (key, value) in &config.labels {
        settings
            .labels
            .insert(scope.expand_value(key)?, scope.expand_value(value)?);
    }
    for volume in &config.volumes {
        let path = scope.expand(&volume.value)?;
        if !path.is_empty() {
            settings.volumes.insert(path);
        }
    }
    if let Some(health) = &config.healthcheck {
        settings.healthcheck = Some(health_settings(&health.value)?);
    }
    if let Some(signal) = &config.stop_signal {
        settings.stop_signal = Some(scope.expand(&signal.value)?);
    }
    settings
        .onbuild
        .extend(config.onbuild.iter().map(|line| line.value.clone()));
    // The classic builder commits MAINTAINER's text, unexpanded, as Author.
    if let Some(author) = &config.maintainer {
        settings.author = author.value.clone();
    }
    Ok(())
}

fn health_settings(health: &Health) -> Result<HealthSettings, SettingsError> {
    let Health::Check(table) = health else {
        return Ok(HealthSettings {
            test: vec!["NONE".to_owned()],
            ..HealthSettings::default()
        });
    };
    let test = match &table.cmd {
        CommandForm::Shell(text) => vec!["CMD-SHELL".to_owned(), text.clone()],
        CommandForm::Exec(words) => std::iter::once("CMD".to_owned())
            .chain(words.iter().cloned())
            .collect(),
    };
    let duration = |text: &Option<String>| -> Result<Option<i64>, SettingsError> {
        text.as_deref()
            .map(|t| parse_duration(t).ok_or_else(|| SettingsError::Duration(t.to_owned())))
            .transpose()
    };
    Ok(HealthSettings {
        test,
        interval: duration(&table.interval)?,
        timeout: duration(&table.timeout)?,
        start_period: duration(&table.start_period)?,
        start_interval: duration(&table.start_interval)?,
        retries: table.retries.map(i64::from),
    })
}

/// Go's `time.ParseDuration` for non-negative values: `1h2m3.5s`, `300ms`.
pub fn parse_duration(text: &str) -> Option<i64> {
    if text == "0" {
        return Some(0);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * scale;
    }
    Some(total.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::forms::HealthcheckTable;
    use crate::located::Located;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("30s"), Some(30_000_000_000));
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn argv_of_shell_and_exec_forms() {
        let shell = CommandForm::Shell("make all".into());
        assert_eq!(command_argv(&shell, None), ["/bin/sh", "-c", "make all"]);
        let bash = vec!["/bin/bash".to_owned(), "-ec".to_owned()];
        assert_eq!(
            command_argv(&shell, Some(&bash)),
            ["/bin/bash", "-ec", "make all"]
        );
        let exec = CommandForm::Exec(vec!["a".into(), "b c".into()]);
        assert_eq!(command_argv(&exec, Some(&bash)), ["a", "b c"]);
    }

    #[test]
    fn image_config_applies_like_docker() {
        let scope = StageScope::new(
            &Default::default(),
            &Default::default(),
            vec![("PORT".into(), "8080".into())],
        );
        let mut settings = ImageSettings {
            cmd: Some(vec!["inherited".into()]),
            ..ImageSettings::default()
        };
        let config = ImageConfig {
            entrypoint: Some(Located::unplaced(CommandForm::Exec(vec!["/app".into()]))),
            expose: vec![
                Located::unplaced("$PORT".into()),
                Located::unplaced("53/UDP 9000".into()),
            ],
            labels: vec![("org.x".into(), "v-$PORT".into())],
            volumes: vec![Located::unplaced("/data".into())],
            healthcheck: Some(Located::unplaced(Health::Check(HealthcheckTable {
                cmd: CommandForm::Shell("true".into()),
                interval: Some("5s".into()),
                timeout: None,
                start_period: None,
                start_interval: None,
                retries: Some(3),
            }))),
            stop_signal: Some(Located::unplaced("SIGINT".into())),
            maintainer: Some(Located::unplaced("Jane <j@x.org> $PORT".into())),
            ..ImageConfig::default()
        };
        apply_image_config(&mut settings, &config, &scope, false).unwrap();
        // MAINTAINER's text is committed as Author, unexpanded.
        assert_eq!(settings.author, "Jane <j@x.org> $PORT");
        assert_eq!(settings.entrypoint, Some(vec!["/app".to_owned()]));
        assert_eq!(settings.cmd, None, "inherited CMD dropped by ENTRYPOINT");
        assert_eq!(
            settings.exposed_ports.iter().collect::<Vec<_>>(),
            ["53/udp", "8080/tcp", "9000/tcp"]
        );
        assert_eq!(settings.labels["org.x"], "v-8080");
        assert!(settings.volumes.contains("/data"));
        let health = settings.healthcheck.unwrap();
        assert_eq!(health.test, ["CMD-SHELL", "true"]);
        assert_eq!(health.interval, Some(5_000_000_000));
        assert_eq!(health.retries, Some(3));
        assert_eq!(settings.stop_signal.as_deref(), Some("SIGINT"));
    }
}
