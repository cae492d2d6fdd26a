//! A call's room: its actor (`actor.rs`), the registry that finds it (`registry.rs`) by the
//! names it keeps (`names.rs`), and what it tells those who listen (`news.rs`). Nothing in here
//! names what stands above the call.

mod actor;
mod names;
pub mod news;
pub mod registry;

pub use actor::*;
