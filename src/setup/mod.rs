//! `setup`: the setup guide as a plan of steps that check before they act.

pub mod names;
