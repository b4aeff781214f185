//! What lint needs to know of base images that only the Engine knows:
//! the names in their env, their configured user and their platform, and
//! the Engine's own platform. Images the Engine does not have are left
//! out; nothing is pulled.

use std::collections::{HashMap, HashSet};

use super::client::{DockerEngine, Engine};

/// Env names, user and platform of the images in `images` the Engine has.
#[derive(Debug, Clone, Default)]
pub struct ImageFacts {
    pub env: HashMap<String, HashSet<String>>,
    pub user: HashMap<String, String>,
    /// `os/arch[/variant]`, for images whose config names both.
    pub platform: HashMap<String, String>,
    /// The Engine's `os/arch`, when it says.
    pub engine_platform: Option<String>,
}

pub async fn image_facts(engine: &DockerEngine, images: &[String]) -> ImageFacts {
    let mut facts = ImageFacts {
        engine_platform: engine.platform(),
        ..ImageFacts::default()
    };
    for image in images {
        let Ok(inspect) = engine.inspect_image(image).await else {
            continue;
        };
        if let (Some(os), Some(arch)) = (&inspect.os, &inspect.architecture)
            && !os.is_empty()
            && !arch.is_empty()
        {
            let platform = match inspect.variant.as_deref().filter(|v| !v.is_empty()) {
                Some(variant) => format!("{os}/{arch}/{variant}"),
                None => format!("{os}/{arch}"),
            };
            facts.platform.insert(image.clone(), platform);
        }
        let config = inspect.config.unwrap_or_default();
        let names = config
            .env
            .unwrap_or_default()
            .iter()
            .map(|entry| {
                entry
                    .split_once('=')
                    .map_or(entry.as_str(), |(k, _)| k)
                    .to_owned()
            })
            .collect();
        facts.env.insert(image.clone(), names);
        facts
            .user
            .insert(image.clone(), config.user.unwrap_or_default());
    }
    facts
}
