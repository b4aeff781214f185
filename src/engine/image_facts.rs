//! What lint needs to know of base images that only the Engine knows:
//! the names in their env and their configured user. Images the Engine
//! does not have are left out; nothing is pulled.

use std::collections::{HashMap, HashSet};

use super::client::{DockerEngine, Engine};

/// Env names and user of the images in `images` the Engine has.
#[derive(Debug, Clone, Default)]
pub struct ImageFacts {
    pub env: HashMap<String, HashSet<String>>,
    pub user: HashMap<String, String>,
}

pub async fn image_facts(engine: &DockerEngine, images: &[String]) -> ImageFacts {
    let mut facts = ImageFacts::default();
    for image in images {
        let Ok(inspect) = engine.inspect_image(image).await else {
            continue;
        };
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
