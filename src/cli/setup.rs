//! `kubectl hyperpod setup`: flags and their conversion into a `SetupConfig`.

use clap::Args;

use crate::error::Result;
use crate::Ctx;

pub const EXAMPLES: &str = "Examples:
  # See what setup would do, without credentials or a cluster
  kubectl hyperpod setup --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket --dry-run --offline

  # Do it
  kubectl hyperpod setup --hyperpod-cluster my-hp --region us-west-2 --s3-bucket my-tls-bucket --yes";

#[derive(Debug, Args)]
pub struct SetupArgs {}

pub fn run(_args: SetupArgs, _ctx: &Ctx) -> Result<i32> {
    Ok(0)
}
