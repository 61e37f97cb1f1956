//! The guide's BERT JumpStart model, the one model the tests deploy. Also included on its own
//! (`#[path = "common/guide.rs"] mod guide;`) by the test binaries without the harness.
#![allow(dead_code)]

/// The guide's JumpStart model (the README's `deploy jumpstart` example).
pub const BERT_MODEL_ID: &str = "huggingface-eqa-bert-base-cased";
/// The instance type the tests serve it on: the `fresh` profile's CPU instance group.
pub const BERT_INSTANCE_TYPE: &str = "ml.c5.2xlarge";
