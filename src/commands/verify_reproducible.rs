//! `stages build --verify-reproducible`: the targets are built twice with
//! no cache, and each image target's two ids are compared. A difference
//! names the first layer that differs (the step that made it) and its
//! files, or the configuration fields when every layer is the same.

use crate::engine::client::DockerEngine;
use crate::engine::image_difference::{difference, saved_image};
use crate::engine::targets::TargetOutcome;

/// Compares the image targets of two builds; says what it found on
/// standard error. `true` when every image target came out the same.
pub async fn compare_builds(
    engine: &DockerEngine,
    first: &[TargetOutcome],
    second: &[TargetOutcome],
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
        match explain(engine, first_id, second_id).await {
            Ok(Some(text)) => eprint!("{text}"),
            Ok(None) => eprintln!("  (their saved forms hold no difference stages can name)"),
            Err(error) => eprintln!("  the images cannot be compared: {error}"),
        }
        // The first build's image lost its tags to the second's: it goes,
        // unless something else holds it.
        let _ = engine.docker().remove_image(first_id, None, None).await;
    }
    same
}

async fn explain(engine: &DockerEngine, first: &str, second: &str) -> Result<Option<String>, String> {
    let one = saved_image(engine, first).await?;
    let two = saved_image(engine, second).await?;
    Ok(difference(&one, &two).map(|found| format!("  {found}")))
}
