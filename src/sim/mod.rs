//! Simulated providers and PBX: the one stand-in for everything outside the engine, used by the
//! tests, the benches and `switchboard demo`. It reaches the engine only as providers do: through
//! the REST APIs it answers and the signed webhooks it sends.

pub mod agents;
pub mod dice;
pub mod pbx;
pub mod providers;
pub mod truth;
