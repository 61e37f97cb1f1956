//! `version`, `completion`, `man`: fitting into the ecosystem. (Stub; owned by the ecosystem work.)

use clap::Args;

use crate::error::Result;
use crate::Ctx;

#[derive(Debug, Args)]
pub struct VersionArgs {}

#[derive(Debug, Args)]
pub struct CompletionArgs {}

pub fn version(_a: VersionArgs, _ctx: &Ctx) -> Result<i32> {
    println!("kubectl-hyperpod {}", env!("CARGO_PKG_VERSION"));
    Ok(0)
}

pub fn completion(_a: CompletionArgs, _ctx: &Ctx) -> Result<i32> {
    Err(crate::error::Error::failed("`completion` is not implemented yet", None))
}
