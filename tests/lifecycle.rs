//! Whole lifecycles on the emulated cloud, one test binary (one emulated cloud, tests/common)
//! for what used to be four small ones, so that their long flows run side by side:
//!
//! * `addon`: the EKS add-on install method (`setup --method addon`) on a new cluster and on a
//!   console-made one;
//! * `profiles`: setup, deploy, doctor and teardown on each cluster profile, and where the Helm
//!   method refuses;
//! * `migrate`: `migrate --to addon` from a Helm install keeping every model;
//! * `teardown`: teardown restores the cluster, never deletes models unasked, and is re-runnable.

mod common;

#[path = "lifecycle/addon.rs"]
mod addon;
#[path = "lifecycle/migrate.rs"]
mod migrate;
#[path = "lifecycle/profiles.rs"]
mod profiles;
#[path = "lifecycle/teardown.rs"]
mod teardown;
