//! Switchboard: an actor-based real-time telephony engine. Provider and PBX webhooks in, one
//! truthful call model out, durable through one writer, streamed to dashboards per organization.

pub mod actors;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod metrics;
pub mod providers;
pub mod sim;
pub mod startup;
pub mod telemetry;
