//! `deploy`, `get`, `describe`, `delete`, `logs`, `invoke`: model endpoints.
//! (Owned by the model-endpoints work; this stub keeps the command tree complete.)

use clap::{Args, Subcommand};

use crate::error::Result;
use crate::Ctx;

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(subcommand)]
    pub kind: Option<DeployKind>,
}

#[derive(Debug, Subcommand)]
pub enum DeployKind {
    /// Deploy a SageMaker JumpStart model (JumpStartModel)
    Jumpstart,
    /// Deploy a custom model from S3 or FSx (InferenceEndpointConfig)
    Custom,
}

#[derive(Debug, Args)]
pub struct GetArgs {}
#[derive(Debug, Args)]
pub struct DescribeArgs {}
#[derive(Debug, Args)]
pub struct DeleteArgs {}
#[derive(Debug, Args)]
pub struct LogsArgs {}
#[derive(Debug, Args)]
pub struct InvokeArgs {}

fn not_yet(what: &str) -> Result<i32> {
    Err(crate::error::Error::failed(format!("`{what}` is not implemented yet"), None))
}

pub fn deploy(_a: DeployArgs, _ctx: &Ctx) -> Result<i32> {
    not_yet("deploy")
}
pub fn get(_a: GetArgs, _ctx: &Ctx) -> Result<i32> {
    not_yet("get")
}
pub fn describe(_a: DescribeArgs, _ctx: &Ctx) -> Result<i32> {
    not_yet("describe")
}
pub fn delete(_a: DeleteArgs, _ctx: &Ctx) -> Result<i32> {
    not_yet("delete")
}
pub fn logs(_a: LogsArgs, _ctx: &Ctx) -> Result<i32> {
    not_yet("logs")
}
pub fn invoke(_a: InvokeArgs, _ctx: &Ctx) -> Result<i32> {
    not_yet("invoke")
}
