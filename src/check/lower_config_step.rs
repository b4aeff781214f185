//! Image configuration written as a step (`{ label = { … } }`,
//! `{ expose = […] }`, `{ volume = […] }`, `{ stop-signal = "…" }`,
//! `{ cmd = … }`, `{ entrypoint = … }`): the same settings as the stage
//! keys, applied where the step sits instead of after the steps.

use crate::config::model::ImageConfig;
use crate::config::raw::RawStep;
use crate::config::{Located, Span};

/// The config kind keys written in the step, with their spans.
pub(super) fn config_kinds(raw: &RawStep) -> [(&'static str, Option<Span>); 6] {
    [
        ("label", raw.label.as_ref().map(|v| v.span)),
        ("expose", raw.expose.as_ref().map(|v| v.span)),
        ("volume", raw.volume.as_ref().map(|v| v.span)),
        ("stop-signal", raw.stop_signal.as_ref().map(|v| v.span)),
        ("cmd", raw.cmd.as_ref().map(|v| v.span)),
        ("entrypoint", raw.entrypoint.as_ref().map(|v| v.span)),
    ]
}

/// A config step that sets nothing (`{ label = {} }`, `{ expose = [] }`,
/// `{ volume = [] }`), which no Dockerfile instruction can write: where,
/// what is missing, and the help.
pub(super) fn empty_config(raw: &RawStep) -> Option<(Span, &'static str, &'static str)> {
    if let Some(label) = raw.label.as_ref().filter(|l| l.value.is_empty()) {
        return Some((
            label.span,
            "no label",
            "name at least one label: `{ label = { \"org.opencontainers.image.version\" = \"${VERSION}\" } }`",
        ));
    }
    if let Some(expose) = raw.expose.as_ref().filter(|e| e.value.is_empty()) {
        return Some((
            expose.span,
            "no port",
            "name at least one port: `{ expose = [8080] }`",
        ));
    }
    if let Some(volume) = raw.volume.as_ref().filter(|v| v.value.is_empty()) {
        return Some((
            volume.span,
            "no volume",
            "name at least one directory: `{ volume = [\"/data\"] }`",
        ));
    }
    None
}

/// The configuration the step sets; `None` when `raw` has no config kind.
pub(super) fn lower_config(raw: &mut RawStep) -> Option<ImageConfig> {
    let mut config = ImageConfig::default();
    if let Some(label) = raw.label.take() {
        config.labels = label.value.into_iter().collect();
    } else if let Some(expose) = raw.expose.take() {
        config.expose = expose
            .value
            .into_iter()
            .map(|port| port.map(|p| p.0))
            .map(|port| placed(port, expose.span))
            .collect();
    } else if let Some(volume) = raw.volume.take() {
        config.volumes = volume
            .value
            .into_iter()
            .map(|path| placed(path, volume.span))
            .collect();
    } else if let Some(signal) = raw.stop_signal.take() {
        config.stop_signal = Some(signal);
    } else if let Some(cmd) = raw.cmd.take() {
        config.cmd = Some(cmd);
    } else {
        config.entrypoint = Some(raw.entrypoint.take()?);
    }
    Some(config)
}

/// A list element without a span of its own takes the list's.
fn placed(value: Located<String>, span: Span) -> Located<String> {
    if value.span.is_empty() {
        Located::new(value.value, span)
    } else {
        value
    }
}
