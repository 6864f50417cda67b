//! Server-only glue between the pages, the server functions and the core:
//! the shared state, the request's context, and the one error path
//! ([`failure`]).

pub mod cards;
pub mod failure;

pub use failure::{ReportSlot, chain, fail};

use crate::error::AppError;
use axum::extract::FromRef;
use http::request::Parts;
use keyhold::flows::Core;
use leptos::prelude::*;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Shared by the router, the server functions and the JSON API; every page
/// puts a clone in its context, so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

/// What an [`AppState`] holds.
pub struct AppParts {
    pub core: Core,
    pub leptos_options: LeptosOptions,
    /// The profile page's rendered cards (see [`cards`]).
    pub cards: cards::RenderedCards,
}

impl AppState {
    pub fn new(core: Core, leptos_options: LeptosOptions) -> Self {
        Self(Arc::new(AppParts { core, leptos_options, cards: cards::RenderedCards::default() }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl FromRef<AppState> for Core {
    fn from_ref(state: &AppState) -> Self {
        state.core.clone()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// Facts about the current request, put in its extensions by the server's
/// outermost middleware: used for error records and throttles.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub correlation_id: String,
    pub client_ip: IpAddr,
    pub method: String,
    pub path: String,
    /// Where a handler leaves what the error log should keep about it.
    pub report: ReportSlot,
}

impl Default for RequestContext {
    fn default() -> Self {
        Self {
            correlation_id: String::new(),
            client_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            method: String::new(),
            path: String::new(),
            report: ReportSlot::default(),
        }
    }
}

// `AppError` is the wire type, large but only ever on the cold path.
#[allow(clippy::result_large_err)]
pub fn core() -> Result<Core, AppError> {
    with_context::<AppState, _>(|s| s.core.clone()).ok_or_else(failure::no_state)
}

/// Read in place: `use_context::<Parts>()` would clone every header and
/// extension of the request.
pub fn request_context() -> RequestContext {
    request_extension::<RequestContext>().unwrap_or_default()
}

/// A clone of one extension of the request being served.
pub fn request_extension<T: Clone + Send + Sync + 'static>() -> Option<T> {
    with_context::<Parts, _>(|p| p.extensions.get::<T>().cloned()).flatten()
}
