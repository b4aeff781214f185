//! `stages build --verify-reproducible`: the targets are built twice with
//! no cache, and each image target's two ids are compared. A difference
//! names the first layer that differs (the step that made it) and its
//! files, or the configuration fields when every layer is the same.

use std::collections::{BTreeMap, HashMap};

use bollard::query_parameters::ListImagesOptionsBuilder;

use crate::engine::client::DockerEngine;
use crate::engine::image_difference::{difference, saved_image};
use crate::engine::native::cache_key::{CACHE_PROJECT_LABEL, CACHE_STAGE_LABEL, CACHE_STEP_LABEL};
use crate::engine::targets::TargetOutcome;

/// Compares the image targets of two builds; says what it found on
/// standard error. `true` when every image target came out the same.
pub async fn compare_builds(
    engine: &DockerEngine,
    first: &[TargetOutcome],
    second: &[TargetOutcome],
    project_id: &str,
) -> bool {
    let mut same = true;
    for (one, two) in first.iter().zip(second) {
        let (
            TargetOutcome::Image {
                target,
                image: first_id,
                ..
            },
            TargetOutcome::Image {
                image: second_id, ..
            },
        ) = (one, two)
        else {
            continue;
        };
        if first_id == second_id {
            eprintln!("reproducible: target `{target}` is {first_id} in both builds");
            continue;
        }
        same = false;
        eprintln!(
            "not reproducible: target `{target}` is {first_id} in the first build and {second_id} in the second"
        );
        match explain(engine, first_id, second_id, project_id).await {
            Ok(Some(text)) => eprint!("{text}"),
            Ok(None) => eprintln!("  (their saved forms hold no difference stages can name)"),
            Err(error) => eprintln!("  the images cannot be compared: {error}"),
        }
        // The first build's image lost its tags to the second's: it goes,
        // unless something else holds it.
        let _ = engine
            .docker()
            .remove_image(
                first_id,
                None::<bollard::query_parameters::RemoveImageOptions>,
                None,
            )
            .await;
    }
    same
}

async fn explain(
    engine: &DockerEngine,
    first: &str,
    second: &str,
    project_id: &str,
) -> Result<Option<String>, String> {
    let one = saved_image(engine, first).await?;
    let two = saved_image(engine, second).await?;
    let Some(mut found) = difference(&one, &two) else {
        return Ok(None);
    };
    let steps = steps_by_layer(engine, project_id).await;
    found.name_step(|diff_id| steps.get(diff_id).cloned());
    Ok(Some(format!("  {found}")))
}

/// The native step cache's entries of the project by the layer each
/// added: the entry's stage and step (its labels), so that a layer can be
/// named by the step that made it. Empty when the cache cannot be read.
async fn steps_by_layer(engine: &DockerEngine, project_id: &str) -> BTreeMap<String, String> {
    let filter = format!("{CACHE_PROJECT_LABEL}={project_id}");
    let filters = HashMap::from([("label", vec![filter.as_str()])]);
    let options = ListImagesOptionsBuilder::new().filters(&filters).build();
    let Ok(images) = engine.docker().list_images(Some(options)).await else {
        return BTreeMap::new();
    };
    let mut steps = BTreeMap::new();
    for image in images {
        let Ok(details) = engine.docker().inspect_image(&image.id).await else {
            continue;
        };
        let top = details
            .root_fs
            .and_then(|root| root.layers)
            .and_then(|layers| layers.last().cloned());
        let labels = details.config.and_then(|c| c.labels).unwrap_or_default();
        if let (Some(top), Some(step)) = (top, labels.get(CACHE_STEP_LABEL)) {
            let stage = labels.get(CACHE_STAGE_LABEL).cloned().unwrap_or_default();
            steps.insert(top, format!("{step}` of stage `{stage}"));
        }
    }
    steps
}
