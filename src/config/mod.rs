//! The `stages.toml` format: the raw file model (serde + schemars), the
//! checked model the rest of the program reads, and the spans that tie
//! both to the text. Knows nothing of Docker or the terminal.

mod args_form;
pub mod bases;
pub mod build_args;
pub mod codes;
pub mod continued;
pub mod deps;
mod entries;
pub mod expand;
pub mod forms;
pub mod key_forms;
pub mod load;
pub mod model;
pub mod nesting;
pub mod predefined_args;
pub mod raw;
pub mod schema;
pub mod user_form;
pub mod write;

pub use crate::located::{Located, Span};
pub use args_form::{GlobalArg, GlobalArgs};
pub use forms::{ArgDefault, CommandForm, FromRef, Healthcheck, HealthcheckTable, Port, Sources};
