//! Keyhold's core: domain types, the Redis schema and stores, message
//! delivery and the account flows. Nothing here knows about HTTP or Leptos.
//!
//! Without the default `server` feature only [`domain`] compiles, so the
//! browser build can share the parsing rules.

pub mod domain;

#[cfg(feature = "server")]
pub mod bounded;

#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod connections;
#[cfg(feature = "server")]
pub mod error_sink;
#[cfg(feature = "server")]
pub mod flows;
#[cfg(feature = "server")]
pub mod jobs;
#[cfg(feature = "server")]
pub mod jwt;
#[cfg(feature = "server")]
pub mod keys;
#[cfg(feature = "server")]
pub mod notify;
#[cfg(feature = "server")]
pub mod objects;
#[cfg(feature = "server")]
pub mod passwords;
#[cfg(feature = "server")]
pub mod provider;
#[cfg(feature = "server")]
pub mod store;
