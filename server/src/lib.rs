//! Keyhold's HTTP server: the router, its middleware, sessions and auth,
//! the JSON API and static files.

pub mod api;
pub mod assets;
pub mod files;
pub mod middleware;
pub mod pages;
pub mod sessions;
pub mod startup;
pub mod telemetry;
