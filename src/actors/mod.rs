//! Thin actors: each owns state, calls the pure domain, and hands durable changes to the writer.

pub mod call;
pub mod campaign;
pub mod extension;
pub mod org_hub;
pub mod org_metrics;
pub mod registry;
pub mod writer;
