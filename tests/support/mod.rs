//! Helpers shared by the integration tests that need them.

#![allow(dead_code)]

pub mod moto;
pub mod pg;
