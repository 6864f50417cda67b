//! Gives every request a correlation id (`x-request-id`: kept when the
//! client sent a sane one, generated otherwise, echoed in the response) and
//! the [`RequestContext`] that error records and throttles use.

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use keyhold_app::ssr::RequestContext;
use std::net::SocketAddr;
use tracing::Instrument;

pub const REQUEST_ID: &str = "x-request-id";

fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

pub async fn request_context(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let client_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let ctx = RequestContext {
        correlation_id: id.clone(),
        client_ip,
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        report: Default::default(),
    };
    let span = tracing::info_span!("request", id = %id, method = %ctx.method, path = %ctx.path);
    req.extensions_mut().insert(ctx);
    let started = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    tracing::debug!(parent: &span, status = res.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "answered");
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::acceptable;

    #[test]
    fn only_tidy_ids_are_kept() {
        assert!(acceptable("corr-123"));
        assert!(acceptable("0190f3a0-7b1c-7000-8000-000000000000"));
        assert!(!acceptable(""));
        assert!(!acceptable("has space"));
        assert!(!acceptable("<script>"));
        assert!(!acceptable(&"x".repeat(65)));
    }
}
