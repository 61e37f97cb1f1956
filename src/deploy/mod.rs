//! Model endpoints: render, validate (offline, against the CRDs), apply, wait, list, describe,
//! delete, logs and invoke JumpStartModel and InferenceEndpointConfig resources.

pub mod check;
pub mod kind;
pub mod schema;
pub mod spec;
