//! The pure core: state machines and vocabulary as plain Rust (no actix, no diesel, no I/O).

pub mod billing;
pub mod call;
pub mod campaign;
pub mod desk;
pub mod dial_queue;
pub mod dialer;
pub mod events;
pub mod extension;
pub mod ids;
pub mod money;
pub mod phone;
pub mod staffing;
pub mod tally;
pub mod time;
