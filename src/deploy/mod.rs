//! Model endpoints (JumpStartModel, InferenceEndpointConfig) as a library: each command is a
//! function taking a plain input and returning a typed result that renders its own text.
//! `resource` and `manifest` make the resource (from flags, or `-f`); `check` and `schema` validate
//! it offline against the embedded CRDs (`crds/`); `apply` deploys it and `watch` waits; `list`,
//! `describe`, `delete`, `logs` and `invoke` are the other commands. `cluster` (kubectl reads),
//! `status`, `diagnose`, `kind` and `table` are shared; pods are read by `tools::pod_diagnosis`.
//!
//! ```no_run
//! use kubectl_hyperpod::deploy::{apply, check, resource};
//! use kubectl_hyperpod::Ctx;
//!
//! let ctx = Ctx::new(Some("us-west-2".into()), None);
//! let input = resource::JumpStartInput {
//!     name: "my-bert-model".into(),
//!     namespace: "default".into(),
//!     model_id: "huggingface-eqa-bert-base-cased".into(),
//!     instance_type: "ml.c5.2xlarge".into(),
//!     ..Default::default()
//! };
//! let checked = check::check(input.render().unwrap(), "default").unwrap();
//! let opts = apply::DeployOptions { wait: true, timeout: None };
//! let report = apply::deploy(&ctx, &checked, &opts).unwrap();
//! assert!(report.error().is_none());
//! ```

pub mod apply;
pub(crate) mod bucket_access;
pub mod check;
pub(crate) mod cluster;
pub(crate) mod delete;
pub(crate) mod describe;
pub(crate) mod diagnose;
pub(crate) mod invoke;
pub(crate) mod kind;
pub(crate) mod list;
pub(crate) mod logs;
pub(crate) mod manifest;
pub(crate) mod model;
pub(crate) mod placement;
pub mod resource;
pub(crate) mod schema;
pub(crate) mod status;
pub(crate) mod table;
pub(crate) mod watch;
pub(crate) mod workflow;
