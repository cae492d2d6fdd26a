//! The one integration test binary: the real server on port 0, a real database per test (SQLite
//! file by default; PostgreSQL when `SWITCHBOARD_TEST_POSTGRES` names a server), real HTTP and
//! WebSocket clients.

mod billing;
mod calls;
mod campaigns;
mod contacts;
mod demo;
mod desk;
mod dialer;
mod dnc;
mod helpers;
mod hostile;
mod inbound;
mod layering;
mod openapi;
mod orgs;
mod originate;
mod pbx;
mod providers;
mod restart;
mod secrets;
mod tenancy;
mod tokens;
mod twilio;
mod websocket;
mod writer;
