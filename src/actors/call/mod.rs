//! A call's room: its actor (`actor.rs`), the registry that finds it (`registry.rs`), and what it
//! tells those who listen (`news.rs`). Nothing in here names what stands above the call.

mod actor;
pub mod news;
pub mod registry;

pub use actor::*;
