//! The global `args` of stages.toml, in its two forms: the table
//! `[args]`, one entry per name (an array when the name is declared in
//! turn), and the ordered form `args = [{ … }, { … }]`, a list of groups
//! of declarations for files whose ARGs redeclare names in between others.

use std::fmt;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};

use super::forms::ArgDefault;
use super::raw::Named;
use crate::located::Located;

/// A global build argument: one declaration (an [`ArgDefault`]), or an
/// array of them, declared one after another, each default seeing the
/// value the one before it gave (`["${TARGETPLATFORM#linux/}", "${X:-none}"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalArg {
    /// Never empty.
    pub decls: Vec<ArgDefault>,
}

impl<'de> Deserialize<'de> for GlobalArg {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GlobalVisitor;
        impl<'de> Visitor<'de> for GlobalVisitor {
            type Value = GlobalArg;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a default value (`NAME = "value"`), a table (`NAME = {}` or `NAME = { default = "value" }`), or an array of them declared in turn"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GlobalArg, E> {
                Ok(GlobalArg {
                    decls: vec![ArgDefault {
                        default: Some(v.to_owned()),
                    }],
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GlobalArg, A::Error> {
                let one = ArgDefault::deserialize(MapAccessDeserializer::new(map))?;
                Ok(GlobalArg { decls: vec![one] })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GlobalArg, A::Error> {
                let mut decls = Vec::new();
                while let Some(decl) = seq.next_element::<ArgDefault>()? {
                    decls.push(decl);
                }
                if decls.is_empty() {
                    return Err(de::Error::invalid_length(0, &"at least one declaration"));
                }
                Ok(GlobalArg { decls })
            }
        }
        deserializer.deserialize_any(GlobalVisitor)
    }
}

impl JsonSchema for GlobalArg {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GlobalArg".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let one = generator.subschema_for::<ArgDefault>();
        json_schema!({
            "description": "A global build argument: its default value, a table (`{}` declares it with no default), or an array of declarations made in turn, each default seeing the value the one before gave.",
            "anyOf": [
                one,
                { "type": "array", "items": one, "minItems": 1 }
            ]
        })
    }
}

/// The global `args`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobalArgs {
    /// `[args]`: one entry per name.
    Table(Named<GlobalArg>),
    /// `args = [{ A = "1" }, { B = "${A}" }, { A = "${B}" }]`: the groups
    /// in order, each one ARG line per name.
    Ordered(Vec<Located<Named<ArgDefault>>>),
}

impl Default for GlobalArgs {
    fn default() -> Self {
        GlobalArgs::Table(Named::default())
    }
}

impl<'de> Deserialize<'de> for GlobalArgs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = GlobalArgs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a table of build arguments (`[args]`), or an array of tables declared in order (`args = [{ A = "1" }, { A = "${A}2" }]`)"#)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GlobalArgs, A::Error> {
                Named::<GlobalArg>::deserialize(MapAccessDeserializer::new(map))
                    .map(GlobalArgs::Table)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GlobalArgs, A::Error> {
                let mut groups = Vec::new();
                while let Some(group) = seq.next_element::<Located<Named<ArgDefault>>>()? {
                    groups.push(group);
                }
                Ok(GlobalArgs::Ordered(groups))
            }
        }
        deserializer.deserialize_any(ArgsVisitor)
    }
}

impl JsonSchema for GlobalArgs {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GlobalArgs".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let table = generator.subschema_for::<IndexMap<String, GlobalArg>>();
        let group = generator.subschema_for::<IndexMap<String, ArgDefault>>();
        json_schema!({
            "description": "Global build arguments (ARG before the first FROM): a table, `NAME = \"default\"` or `NAME = {}` for no default, or an array of tables declared in order, for a file whose ARGs redeclare names in between others.",
            "anyOf": [
                table,
                { "type": "array", "items": group }
            ]
        })
    }
}
