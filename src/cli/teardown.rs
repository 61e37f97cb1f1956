//! `teardown`: undo setup. (Stub; owned by the teardown work.)

use clap::Args;

use crate::error::Result;
use crate::Ctx;

#[derive(Debug, Args)]
pub struct TeardownArgs {}

pub fn run(_a: TeardownArgs, _ctx: &Ctx) -> Result<i32> {
    Err(crate::error::Error::failed("`teardown` is not implemented yet", None))
}
