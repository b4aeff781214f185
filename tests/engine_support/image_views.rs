//! An image as the comparison tests compare it: its configuration and its
//! file tree, less what the forgiven list names (each with the reason
//! Docker itself differs, in `forgiven`).

use std::collections::BTreeMap;

use super::forgiven::{self, path_forgiven};
use super::{compared_config, files};

/// Mode, uid, gid, kind, link target and contents of each file.
pub type Tree = BTreeMap<String, (u32, u64, u64, String, Option<String>, Vec<u8>)>;

/// Every file of the image (those the Engine makes in any container
/// included), but for the paths the forgiven list names.
pub fn image_tree(image: &str) -> Tree {
    files(image, "/")
        .into_iter()
        .filter(|(path, _)| !path_forgiven(path))
        .map(|(path, e)| {
            let kind = format!("{:?}", e.kind);
            (path, (e.mode, e.uid, e.gid, kind, e.link, e.contents))
        })
        .collect()
}

/// The compared configuration, but for the fields BuildKit's frontend is
/// forgiven (`forgiven::BUILDKIT_CONFIG_FIELDS`).
pub fn buildkit_compared_config(image: &str) -> serde_json::Value {
    let mut config = compared_config(image);
    if let Some(fields) = config.as_object_mut() {
        for forgiven in forgiven::BUILDKIT_CONFIG_FIELDS {
            fields.remove(forgiven.what);
        }
    }
    config
}

/// The same, with each value BuildKit is forgiven for writing otherwise
/// (`forgiven::BUILDKIT_CONFIG_VALUES`) as the classic builder writes it.
pub fn classic_reading(image: &str) -> serde_json::Value {
    let mut config = buildkit_compared_config(image);
    if let Some(fields) = config.as_object_mut() {
        for (field, classic, buildkit, _) in forgiven::BUILDKIT_CONFIG_VALUES {
            let read = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
            if let (Some(value), Some(classic), Some(buildkit)) =
                (fields.get_mut(*field), read(classic), read(buildkit))
                && *value == buildkit
            {
                *value = classic;
            }
        }
    }
    config
}
