//! `doctor`: flags and output of the diagnosis. (Stub; owned by the doctor work.)

use clap::Args;

use crate::error::Result;
use crate::Ctx;

#[derive(Debug, Args)]
pub struct DoctorArgs {}

pub fn run(_a: DoctorArgs, _ctx: &Ctx) -> Result<i32> {
    Err(crate::error::Error::failed("`doctor` is not implemented yet", None))
}
