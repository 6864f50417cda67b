//! Integration tests: the real server against a real Redis, over HTTP.

mod abuse;
mod admin;
mod assets;
mod concurrency;
mod error_log;
mod health;
mod helpers;
mod outage;
mod ownership;
mod passwords;
mod payments;
mod profile;
mod registration;
mod sessions;
mod tokens;
mod uploads;
mod username;
