//! `RUN --mount=…`: BuildKit's csv fields, with its aliases (`dst`, `src`,
//! `ro`, `rw`), read into the model's `Mount`.

use super::context::{Context, malformed, unsupported};
use super::words::{csv_fields, flag_bool};
use crate::config::model::{Mount, MountType};
use crate::diagnostics::Diagnostic;
use crate::dockerfile::Node;
use crate::located::Located;

pub fn mount(node: &Node, text: &str, cx: &Context) -> Result<Mount, Diagnostic> {
    let mut mount = Mount::default();
    let bad = |what: String| malformed(node, &what);
    for field in csv_fields(text) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_owned())),
            None => (field.to_ascii_lowercase(), None),
        };
        let text = || {
            value
                .clone()
                .ok_or_else(|| bad(format!("mount option `{key}` needs a value")))
        };
        let boolean = || {
            flag_bool(value.as_deref())
                .ok_or_else(|| bad(format!("mount option `{key}` takes true or false")))
        };
        let number = || {
            value
                .as_deref()
                .and_then(|v| v.parse::<u32>().ok())
                .ok_or_else(|| bad(format!("mount option `{key}` takes a number")))
        };
        match key.as_str() {
            "type" => {
                let kind = text()?;
                // BuildKit reads the type case-blind, after expanding it.
                let written = if kind.contains('$') {
                    kind.clone()
                } else {
                    kind.to_ascii_lowercase()
                };
                mount.kind = MountType::parse(&written)
                    .ok_or_else(|| bad(format!("unknown mount type `{kind}`")))?;
            }
            "target" | "dst" | "destination" => mount.target = Some(text()?),
            "source" | "src" => mount.source = Some(text()?),
            "from" => {
                let from = text()?;
                let from = cx.stage_ref(&from).unwrap_or(from);
                mount.from = Some(Located::new(from, node.span));
            }
            "id" => mount.id = Some(text()?),
            "sharing" => mount.sharing = Some(text()?),
            "readonly" | "ro" => mount.readonly = Some(boolean()?),
            "rw" | "readwrite" => mount.readonly = Some(!boolean()?),
            "required" => mount.required = Some(boolean()?),
            "mode" => mount.mode = Some(text()?),
            "uid" => mount.uid = Some(number()?),
            "gid" => mount.gid = Some(number()?),
            "size" => mount.size = Some(text()?),
            "env" => mount.env = Some(text()?),
            "" => {}
            other => return Err(unsupported(node, &format!("the mount option `{other}`"))),
        }
    }
    Ok(mount)
}
