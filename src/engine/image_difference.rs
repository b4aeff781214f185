//! Why two images that should be the same are not: the first layer whose
//! diff id differs, named by the history line that made it, and the files
//! that differ in it (path, kind, size, mode, owner, mtime, link target,
//! content digest); or, when every layer is the same, the configuration
//! fields that differ. Both images are read with `docker save`.

use std::collections::BTreeMap;
use std::io::Read;

use futures_util::TryStreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::engine::client::DockerEngine;

/// How many differing files or fields are named at most.
const MAX_NAMED: usize = 20;

/// One entry of a layer's tar, as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub kind: char,
    pub size: u64,
    pub mode: u32,
    pub owner: (u64, u64),
    pub mtime: u64,
    pub link: String,
    /// The content's sha256, hex (empty for what has none).
    pub digest: String,
}

impl std::fmt::Display for FileFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:o} {}:{} {} bytes mtime {}",
            self.kind,
            self.mode & 0o7777,
            self.owner.0,
            self.owner.1,
            self.size,
            self.mtime
        )?;
        if !self.link.is_empty() {
            write!(f, " -> {}", self.link)?;
        }
        if !self.digest.is_empty() {
            write!(f, " sha256:{}", &self.digest[..self.digest.len().min(12)])?;
        }
        Ok(())
    }
}

/// A layer's entries by path.
pub type Listing = BTreeMap<String, FileFacts>;

/// An image as `docker save` holds it.
#[derive(Debug, Clone, Default)]
pub struct SavedImage {
    pub config: Value,
    /// The layers' listings, base first.
    pub layers: Vec<Listing>,
}

impl SavedImage {
    fn diff_ids(&self) -> Vec<String> {
        self.config["rootfs"]["diff_ids"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .map(|id| id.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The history line that made layer `index` (lines with a layer, in order).
    fn layer_step(&self, index: usize) -> Option<String> {
        self.config["history"]
            .as_array()?
            .iter()
            .filter(|line| !line["empty_layer"].as_bool().unwrap_or(false))
            .nth(index)
            .map(|line| line["created_by"].as_str().unwrap_or_default().to_owned())
    }
}

/// What differs between two images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// Layer `index` (0 is the base's first) differs.
    Layer {
        index: usize,
        count: usize,
        /// The second image's diff id of the layer.
        diff_id: String,
        step: Option<String>,
        /// Path, and the entry in the first and the second image.
        files: Vec<(String, Option<String>, Option<String>)>,
        more: usize,
    },
    /// The layers are the same; these configuration fields are not.
    Config { fields: Vec<String>, more: usize },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Layer {
                index,
                count,
                step,
                files,
                more,
                ..
            } => {
                write!(f, "layer {} of {count}", index + 1)?;
                match step.as_deref().filter(|s| !s.is_empty()) {
                    Some(step) => writeln!(f, ", made by `{step}`, differs:")?,
                    None => writeln!(f, " differs:")?,
                }
                for (path, first, second) in files {
                    writeln!(f, "  /{path}")?;
                    let absent = "absent".to_owned();
                    writeln!(f, "    first:  {}", first.as_ref().unwrap_or(&absent))?;
                    writeln!(f, "    second: {}", second.as_ref().unwrap_or(&absent))?;
                }
                if *more > 0 {
                    writeln!(f, "  and {more} more files")?;
                }
                Ok(())
            }
            Difference::Config { fields, more } => {
                writeln!(f, "every layer is the same; the configuration differs in:")?;
                for field in fields {
                    writeln!(f, "  {field}")?;
                }
                if *more > 0 {
                    writeln!(f, "  and {more} more fields")?;
                }
                Ok(())
            }
        }
    }
}

impl Difference {
    /// Names the differing layer's step when the image's history does not
    /// (the native back end's history lines are blank).
    pub fn name_step(&mut self, step_of: impl Fn(&str) -> Option<String>) {
        if let Difference::Layer { diff_id, step, .. } = self
            && step.as_deref().is_none_or(str::is_empty)
        {
            *step = step_of(diff_id);
        }
    }
}

/// What differs between `first` and `second`; `None` when nothing does.
pub fn difference(first: &SavedImage, second: &SavedImage) -> Option<Difference> {
    let (one, two) = (first.diff_ids(), second.diff_ids());
    let count = one.len().max(two.len());
    if let Some(index) = (0..count).find(|&i| one.get(i) != two.get(i)) {
        let empty = Listing::new();
        let a = first.layers.get(index).unwrap_or(&empty);
        let b = second.layers.get(index).unwrap_or(&empty);
        let mut files: Vec<_> = a
            .keys()
            .chain(b.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|path| a.get(*path) != b.get(*path))
            .map(|path| {
                (
                    path.clone(),
                    a.get(path).map(ToString::to_string),
                    b.get(path).map(ToString::to_string),
                )
            })
            .collect();
        let more = files.len().saturating_sub(MAX_NAMED);
        files.truncate(MAX_NAMED);
        return Some(Difference::Layer {
            index,
            count,
            diff_id: two.get(index).cloned().unwrap_or_default(),
            step: second.layer_step(index).or_else(|| first.layer_step(index)),
            files,
            more,
        });
    }
    let mut fields = Vec::new();
    differing_fields(&first.config, &second.config, String::new(), &mut fields);
    if fields.is_empty() {
        return None;
    }
    let more = fields.len().saturating_sub(MAX_NAMED);
    fields.truncate(MAX_NAMED);
    Some(Difference::Config { fields, more })
}

fn differing_fields(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let next = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                differing_fields(
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    next,
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differing_fields(p, q, format!("{at}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: {a} / {b}")),
        _ => {}
    }
}

/// The entries of one layer tar.
pub fn listing(layer: impl Read) -> std::io::Result<Listing> {
    let mut archive = tar::Archive::new(layer);
    let mut listing = Listing::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            tar::EntryType::Regular | tar::EntryType::Continuous => '-',
            other => char::from(other.as_byte()),
        };
        let mut facts = FileFacts {
            kind,
            size: header.size()?,
            mode: header.mode()?,
            owner: (header.uid()?, header.gid()?),
            mtime: header.mtime()?,
            link: entry
                .link_name()?
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default(),
            digest: String::new(),
        };
        if kind == '-' {
            let mut hasher = Sha256::new();
            std::io::copy(&mut entry, &mut hasher)?;
            facts.digest = hex::encode(hasher.finalize());
        }
        listing.insert(path.trim_end_matches('/').to_owned(), facts);
    }
    Ok(listing)
}

/// `image` as `docker save` gives it, its layers listed.
pub async fn saved_image(engine: &DockerEngine, image: &str) -> Result<SavedImage, String> {
    let mut file = tempfile::tempfile().map_err(|e| format!("a temporary file: {e}"))?;
    let mut chunks = Box::pin(engine.docker().export_image(image));
    while let Some(chunk) = chunks
        .try_next()
        .await
        .map_err(|e| format!("saving {image}: {e}"))?
    {
        std::io::Write::write_all(&mut file, &chunk).map_err(|e| e.to_string())?;
    }
    std::io::Seek::rewind(&mut file).map_err(|e| e.to_string())?;
    read_saved(file).map_err(|e| format!("reading the saved {image}: {e}"))
}

/// A `docker save` archive: the configuration, the manifest's layers listed.
pub fn read_saved(archive: impl Read) -> std::io::Result<SavedImage> {
    let mut archive = tar::Archive::new(archive);
    let mut layers: BTreeMap<String, Listing> = BTreeMap::new();
    let mut documents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if path.ends_with("layer.tar") {
            layers.insert(path, listing(&mut entry)?);
        } else if path.ends_with(".json") {
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            documents.insert(path, data);
        }
    }
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let manifest: Value = serde_json::from_slice(
        documents
            .get("manifest.json")
            .ok_or_else(|| invalid("no manifest.json"))?,
    )?;
    let config_name = manifest[0]["Config"]
        .as_str()
        .ok_or_else(|| invalid("the manifest names no configuration"))?;
    let config: Value = serde_json::from_slice(
        documents
            .get(config_name)
            .ok_or_else(|| invalid("the configuration is missing"))?,
    )?;
    let layers = manifest[0]["Layers"]
        .as_array()
        .ok_or_else(|| invalid("the manifest names no layers"))?
        .iter()
        .map(|name| {
            layers
                .get(name.as_str().unwrap_or_default())
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    Ok(SavedImage { config, layers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layer(files: &[(&str, &[u8], u64)]) -> Listing {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data, mtime) in files {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(*mtime);
            header.set_size(data.len() as u64);
            builder.append_data(&mut header, name, *data).unwrap();
        }
        listing(builder.into_inner().unwrap().as_slice()).unwrap()
    }

    fn image(diff_ids: &[&str], layers: Vec<Listing>, created: &str) -> SavedImage {
        SavedImage {
            config: json!({
                "created": created,
                "rootfs": { "type": "layers", "diff_ids": diff_ids },
                "history": [
                    { "created_by": "base" },
                    { "created_by": "ENV A=1", "empty_layer": true },
                    { "created_by": "RUN date > /stamp" },
                ],
            }),
            layers,
        }
    }

    #[test]
    fn the_first_differing_layer_is_named_by_its_step_with_its_files() {
        let base = layer(&[("bin/sh", b"sh", 1)]);
        let first = image(
            &["sha256:a", "sha256:b"],
            vec![
                base.clone(),
                layer(&[("stamp", b"Mon", 5), ("same", b"x", 5)]),
            ],
            "t",
        );
        let second = image(
            &["sha256:a", "sha256:c"],
            vec![base, layer(&[("stamp", b"Tue", 5), ("same", b"x", 5)])],
            "t",
        );
        let found = difference(&first, &second).expect("a difference");
        let Difference::Layer {
            index, step, files, ..
        } = &found
        else {
            panic!("{found:?}")
        };
        assert_eq!(*index, 1);
        assert_eq!(step.as_deref(), Some("RUN date > /stamp"));
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "stamp");
        let text = found.to_string();
        assert!(
            text.contains("layer 2 of 2, made by `RUN date > /stamp`"),
            "{text}"
        );
        assert!(text.contains("/stamp"), "{text}");
    }

    #[test]
    fn the_same_layers_name_the_configuration_fields_and_the_same_images_nothing() {
        let first = image(&["sha256:a"], vec![Listing::new()], "2026-01-01T00:00:00Z");
        let second = image(&["sha256:a"], vec![Listing::new()], "2026-01-02T00:00:00Z");
        let found = difference(&first, &second).expect("a difference");
        assert!(found.to_string().contains("created: "), "{found}");
        assert_eq!(difference(&first, &first.clone()), None);
    }
}
