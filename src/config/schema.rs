//! The JSON Schema of `stages.toml`, generated from `raw::Manifest`, for
//! editors (Taplo, Even Better TOML). Draft-07, because Taplo's validator
//! handles it reliably; `null` is stripped everywhere because TOML has none.

use schemars::generate::SchemaSettings;
use schemars::transform::Transform;
use serde_json::{Map, Value};

use super::raw::Manifest;

/// Removes `null` from `type` arrays, `{ "type": "null" }` branches of
/// `anyOf`/`oneOf`, and `"default": null`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StripNull;

impl Transform for StripNull {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        if let Some(object) = schema.as_object_mut() {
            strip_object(object);
        }
    }
}

fn is_null_schema(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("null")
}

fn strip_object(object: &mut Map<String, Value>) {
    if object.get("default") == Some(&Value::Null) {
        object.remove("default");
    }
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t.as_str() != Some("null"));
        if types.len() == 1 {
            let single = types.remove(0);
            object.insert("type".to_owned(), single);
        }
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = object.get_mut(key) else {
            continue;
        };
        branches.retain(|b| !is_null_schema(b));
        if branches.len() == 1
            && let Some(Value::Object(only)) = branches.pop()
        {
            object.remove(key);
            for (k, v) in only {
                object.entry(k).or_insert(v);
            }
        }
    }
    for value in object.values_mut() {
        strip_value(value);
    }
}

fn strip_value(value: &mut Value) {
    match value {
        Value::Object(object) => strip_object(object),
        Value::Array(items) => items.iter_mut().for_each(strip_value),
        _ => {}
    }
}

/// The schema as pretty-printed JSON, ending with a newline.
pub fn schema_json() -> String {
    let generator = SchemaSettings::draft07()
        .with_transform(StripNull)
        .into_generator();
    let schema = generator.into_root_schema_for::<Manifest>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft07_without_null() {
        let text = schema_json();
        assert!(
            text.contains("http://json-schema.org/draft-07/schema#"),
            "{text}"
        );
        assert!(!text.contains("\"null\""), "{text}");
        let value: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(value["additionalProperties"], Value::Bool(false));
        assert!(value["properties"]["stages"].is_object());
    }
}
