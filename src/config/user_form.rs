//! The `user` key: a name or id as Docker's USER takes it (`"app"`,
//! `"1000:1000"`), or a bare uid written as a TOML integer (`user = 65534`).
//! Either way the model keeps the text USER would be given.

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::located::Located;

/// A user, kept as the text of a USER instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserText(pub String);

impl<'de> Deserialize<'de> for UserText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UserVisitor;
        impl Visitor<'_> for UserVisitor {
            type Value = UserText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    r#"a user name or id, with an optional group (`user = "app"`, `user = "1000:1000"`, `user = 65534`)"#,
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<UserText, E> {
                if v < 0 {
                    return Err(E::invalid_value(de::Unexpected::Signed(v), &self));
                }
                Ok(UserText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<UserText, E> {
                Ok(UserText(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UserText, E> {
                Ok(UserText(v.to_owned()))
            }
        }
        deserializer.deserialize_any(UserVisitor)
    }
}

impl JsonSchema for UserText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "User".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A user name or id, with an optional group (`\"app\"`, `\"1000:1000\"`), or a uid number (`65534`).",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string" }
            ]
        })
    }
}

/// `deserialize_with` for an optional `user` key: the model keeps text.
pub fn optional_user<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Located<String>>, D::Error> {
    let user = Option::<Located<UserText>>::deserialize(deserializer)?;
    Ok(user.map(|located| located.map(|user| user.0)))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::located::Located;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "super::optional_user")]
        user: Option<Located<String>>,
    }

    fn user(text: &str) -> Result<Option<String>, String> {
        toml::from_str::<Holder>(text)
            .map(|h| h.user.map(|u| u.value))
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_uid_number_is_the_text_docker_takes() {
        assert_eq!(user("user = 65534").unwrap().as_deref(), Some("65534"));
        assert_eq!(
            user("user = \"app:app\"").unwrap().as_deref(),
            Some("app:app")
        );
        assert_eq!(user("").unwrap(), None);
    }

    #[test]
    fn a_negative_number_or_a_list_is_refused_with_the_forms() {
        assert!(user("user = -1").unwrap_err().contains("`user = 65534`"));
        assert!(user("user = [1]").unwrap_err().contains("`user = \"app\"`"));
    }
}
