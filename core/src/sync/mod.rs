//! Sync: the sans-IO engine that pushes the outbox to an HTTP CRM and pulls
//! its change feed into the store, and the adapter profiles that describe
//! the CRM.
//!
//! Contract (as quinn-proto's): deterministic, no sockets, no clock, no
//! randomness. [`SyncSession::poll`] says what to do next — send an
//! [`HttpRequest`], wait some milliseconds, stop for auth or a wipe, or done —
//! and the caller does it and hands the outcome back with
//! [`SyncSession::handle_response`] or [`SyncSession::handle_transport_error`].
//! Call them in that order, one request at a time. [`SyncSession::state`] is
//! the resumable position (serde): persist it after persisting the store, and
//! a new session started from it continues where the old one stopped.
//!
//! Modules: [`profile`] (the backend, as data), [`mapping`] (backend JSON ↔
//! account), [`entities`] (the feeds beside the accounts: contacts, deals,
//! price lists), [`session`] (the state machine).

pub mod entities;
pub mod mapping;
pub mod profile;
pub mod session;

pub use profile::Profile;
pub use session::{
    Action, Event, FeedState, HttpRequest, HttpResponse, Progress, Report, SyncConfig, SyncError,
    SyncSession, SyncState,
};
