//! Values that can be written in two forms ("string or table", "string or
//! array"). Each gets a hand-written `Deserialize` whose `expecting` message
//! shows both forms, and a JSON Schema that accepts exactly those forms.

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};

use crate::located::Located;

/// A build argument's declaration: `"default"`, `{}` (no default) or `{ default = "…" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArgDefault {
    pub default: Option<String>,
}

impl<'de> Deserialize<'de> for ArgDefault {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgVisitor;
        impl<'de> Visitor<'de> for ArgVisitor {
            type Value = ArgDefault;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a default value (`NAME = "value"`) or a table (`NAME = {}` or `NAME = { default = "value" }`)"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ArgDefault, E> {
                Ok(ArgDefault {
                    default: Some(v.to_owned()),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ArgDefault, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Table {
                    default: Option<String>,
                }
                let table = Table::deserialize(MapAccessDeserializer::new(map))?;
                Ok(ArgDefault {
                    default: table.default,
                })
            }
        }
        deserializer.deserialize_any(ArgVisitor)
    }
}

impl JsonSchema for ArgDefault {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ArgDefault".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A build argument: its default value, or a table (`{}` declares it with no default).",
            "anyOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": { "default": { "type": "string", "description": "The default value." } },
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// A stage's base: an image reference or another stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromRef {
    /// An image reference such as `alpine:3.20`, or `scratch`.
    Image(String),
    /// Another stage of this file.
    Stage(Located<String>),
}

impl<'de> Deserialize<'de> for FromRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FromVisitor;
        impl<'de> Visitor<'de> for FromVisitor {
            type Value = FromRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"an image reference (`from = "alpine:3.20"`) or a stage (`from = { stage = "builder" }`)"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FromRef, E> {
                Ok(FromRef::Image(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FromRef, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Table {
                    stage: Located<String>,
                }
                let table = Table::deserialize(MapAccessDeserializer::new(map))?;
                Ok(FromRef::Stage(table.stage))
            }
        }
        deserializer.deserialize_any(FromVisitor)
    }
}

impl JsonSchema for FromRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FromRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The base: an image reference (`\"alpine:3.20\"`, `\"scratch\"`) or another stage (`{ stage = \"builder\" }`).",
            "anyOf": [
                { "type": "string", "description": "An image reference." },
                {
                    "type": "object",
                    "properties": { "stage": { "type": "string", "description": "The stage this one starts from." } },
                    "required": ["stage"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// A command: shell form (a string) or exec form (an array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandForm {
    Shell(String),
    Exec(Vec<String>),
}

impl<'de> Deserialize<'de> for CommandForm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = CommandForm;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a shell command (`"make install"`) or an exec-form array (`["make", "install"]`)"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CommandForm, E> {
                Ok(CommandForm::Shell(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CommandForm, A::Error> {
                let mut words = Vec::new();
                while let Some(word) = seq.next_element::<String>()? {
                    words.push(word);
                }
                Ok(CommandForm::Exec(words))
            }
        }
        deserializer.deserialize_any(CommandVisitor)
    }
}

impl JsonSchema for CommandForm {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CommandForm".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A shell-form command (a string, run by the stage's shell) or an exec-form command (an array of words).",
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" } }
            ]
        })
    }
}

/// One source path or several.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sources(pub Vec<Located<String>>);

impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SourcesVisitor;
        impl<'de> Visitor<'de> for SourcesVisitor {
            type Value = Sources;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a source path (`"src/"`) or an array of them (`["a.txt", "b/"]`)"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Sources, E> {
                Ok(Sources(vec![Located::unplaced(v.to_owned())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sources, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Located<String>>()? {
                    items.push(item);
                }
                Ok(Sources(items))
            }
        }
        deserializer.deserialize_any(SourcesVisitor)
    }
}

impl JsonSchema for Sources {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sources".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A source path, pattern or URL, or an array of them.",
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" }, "minItems": 1 }
            ]
        })
    }
}

/// A port: `8080`, `"8080/tcp"` or `"53/udp"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port(pub String);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl Visitor<'_> for PortVisitor {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a port number (`8080`) or a port with protocol (`"53/udp"`)"#)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                Ok(Port(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                Ok(Port(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                Ok(Port(v.to_owned()))
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}

impl JsonSchema for Port {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Port".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A port number, or a port with its protocol (`\"53/udp\"`).",
            "anyOf": [
                { "type": "integer", "minimum": 0, "maximum": 65535 },
                { "type": "string" }
            ]
        })
    }
}

/// A health check, or `"none"` to disable the one inherited from the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    None,
    Check(HealthcheckTable),
}

/// HEALTHCHECK options and command.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HealthcheckTable {
    /// The check: a shell command (string) or exec form (array).
    pub cmd: CommandForm,
    /// Time between checks, e.g. `"30s"`.
    pub interval: Option<String>,
    /// Time a check may take, e.g. `"5s"`.
    pub timeout: Option<String>,
    /// Grace period after start, e.g. `"10s"`.
    pub start_period: Option<String>,
    /// Time between checks during the start period.
    pub start_interval: Option<String>,
    /// Failures in a row before the container is unhealthy.
    pub retries: Option<u32>,
}

impl<'de> Deserialize<'de> for Healthcheck {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HealthVisitor;
        impl<'de> Visitor<'de> for HealthVisitor {
            type Value = Healthcheck;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a table (`healthcheck = { cmd = "curl -f localhost", interval = "30s" }`) or `"none"`"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Healthcheck, E> {
                if v.eq_ignore_ascii_case("none") {
                    Ok(Healthcheck::None)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Healthcheck, A::Error> {
                HealthcheckTable::deserialize(MapAccessDeserializer::new(map))
                    .map(Healthcheck::Check)
            }
        }
        deserializer.deserialize_any(HealthVisitor)
    }
}

impl JsonSchema for Healthcheck {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Healthcheck".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let table = generator.subschema_for::<HealthcheckTable>();
        json_schema!({
            "description": "The health check (a table), or `\"none\"` to disable the base image's.",
            "anyOf": [
                { "type": "string", "enum": ["none"] },
                table
            ]
        })
    }
}
