//! The image configuration that must match `docker build`'s exactly, read
//! from `docker image inspect` as the Engine wrote it: `null`, `[]` and an
//! absent key are three different values.

use std::process::Command;

use serde_json::Value;

/// The fields of `.Config` compared, in the order they are reported: the
/// same list as every other comparison.
pub use crate::engine_support::forgiven::COMPARED_CONFIG as FIELDS;

/// `.Config` of `image`, as the Engine reports it.
pub fn image_config(image: &str) -> serde_json::Map<String, Value> {
    let out = Command::new("docker")
        .args(["image", "inspect", image])
        .output()
        .expect("run docker image inspect");
    assert!(
        out.status.success(),
        "docker image inspect {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    match &value[0]["Config"] {
        Value::Object(config) => config.clone(),
        other => panic!("docker image inspect {image}: Config is {other}"),
    }
}

/// How the field reads, with an absent key spelled out (it is not `null`).
pub fn shown(config: &serde_json::Map<String, Value>, field: &str) -> String {
    config
        .get(field)
        .map_or_else(|| "(absent)".to_owned(), Value::to_string)
}

/// One line per field that differs: `field: expected … got …`.
pub fn differences(
    expected: &serde_json::Map<String, Value>,
    actual: &serde_json::Map<String, Value>,
) -> Vec<String> {
    differences_but(expected, actual, |_, _, _| false)
}

/// As `differences`, between a classic (or native) build and a BuildKit
/// one: what BuildKit's frontend writes of its own is forgiven
/// (`forgiven::buildkit_forgives`). `buildkit_expected` says which side
/// BuildKit built.
pub fn differences_across_buildkit(
    expected: &serde_json::Map<String, Value>,
    actual: &serde_json::Map<String, Value>,
    buildkit_expected: bool,
) -> Vec<String> {
    differences_but(expected, actual, |field, want, got| {
        let absent = Value::Null;
        let (want, got) = (want.unwrap_or(&absent), got.unwrap_or(&absent));
        let (classic, buildkit) = if buildkit_expected {
            (got, want)
        } else {
            (want, got)
        };
        crate::engine_support::forgiven::buildkit_forgives(field, classic, buildkit)
    })
}

fn differences_but(
    expected: &serde_json::Map<String, Value>,
    actual: &serde_json::Map<String, Value>,
    forgiven: impl Fn(&str, Option<&Value>, Option<&Value>) -> bool,
) -> Vec<String> {
    FIELDS
        .iter()
        .filter(|field| expected.get(**field) != actual.get(**field))
        .filter(|field| !forgiven(field, expected.get(**field), actual.get(**field)))
        .map(|field| {
            format!(
                "config {field}: docker build {}, this back end {}",
                shown(expected, field),
                shown(actual, field)
            )
        })
        .collect()
}
