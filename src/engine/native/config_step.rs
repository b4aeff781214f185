//! The end of a stage: the settings its image ends with (its image
//! configuration) and the key of that last step. `copy_group` applies it,
//! with the WORKDIRs the stage set (Docker creates them), in the commit of
//! the stage's last copies or in one of its own. A target's own labels are
//! not the stage's: they go on the target's image only (`target_image`).

use super::settings::{SettingsError, apply_image_config};
use super::step_common::StageState;
use crate::config::model::ImageConfig;

/// The settings the stage's image ends with: its image configuration.
pub fn final_settings(state: &mut StageState, config: &ImageConfig) -> Result<(), SettingsError> {
    apply_image_config(&mut state.settings, config, &state.scope, state.sets_cmd)
}

/// The key of the configuration step, from `state` with its final settings.
pub fn key(state: &StageState) -> String {
    state.key("CONFIG", Vec::new(), state.workdirs.clone())
}
