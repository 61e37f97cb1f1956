//! What a user asks for with flags (`deploy jumpstart`, `deploy custom`): the input types, the
//! rules each value must follow (`rules`, errors name the flag), and the rendering of each
//! kind from its template (`jumpstart`, `custom`, with `autoscaling` shared by both).

mod autoscaling;
mod custom;
mod features;
mod jumpstart;
mod rules;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use autoscaling::Autoscaling;
pub use custom::{CustomExtras, CustomInput, ModelSource, DEFAULT_MOUNT_PATH, DEFAULT_VOLUME_NAME};
pub use features::{Features, Overrides, SetOverride};
pub use jumpstart::JumpStartInput;
pub use rules::{
    image, instance_type, jumpstart_version, model_id, parse_duration, parse_env, quantity, s3_uri,
};

/// One environment variable, as the CRDs list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}
