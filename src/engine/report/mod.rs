//! The build report: when each stage and step ran (`timeline`), the chain
//! of stages that decided the wall time and the parallelism achieved
//! (`critical_path`), all of it as data (`model`, assembled in
//! `assemble`), for people under the build summary (`text`) and as a
//! self-contained HTML page (`html`). Fed by the progress events every
//! back end reports; imports only the shared engine layer.

pub mod assemble;
pub mod critical_path;
pub mod html;
pub mod model;
pub mod text;
pub mod timeline;

use std::collections::BTreeMap;
use std::time::Instant;

use super::client::Engine;
use super::progress::{Event, ProgressSink};
use timeline::Timeline;

/// Passes every event on and records in the timeline when it arrived.
pub struct Timing<'a> {
    pub view: &'a mut dyn ProgressSink,
    pub timeline: &'a mut Timeline,
    /// When the build started.
    pub started: Instant,
}

impl ProgressSink for Timing<'_> {
    fn event(&mut self, event: Event<'_>) {
        self.timeline.observe(&event, self.started.elapsed());
        self.view.event(event);
    }
}

/// The size in bytes of each of `images` the Engine has.
pub async fn image_sizes<E: Engine>(engine: &E, images: &[String]) -> BTreeMap<String, u64> {
    let mut sizes = BTreeMap::new();
    for image in images {
        if sizes.contains_key(image) {
            continue;
        }
        if let Ok(inspect) = engine.inspect_image(image).await
            && let Some(size) = inspect.size.and_then(|s| u64::try_from(s).ok())
        {
            sizes.insert(image.clone(), size);
        }
    }
    sizes
}
