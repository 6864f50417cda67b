//! Gives every request a correlation id (`x-request-id`: kept when the
//! client sent a sane one, generated otherwise, echoed in the response) and
//! the [`RequestContext`] that error records and throttles use.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use keyhold_app::ssr::{AppState, RequestContext};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tracing::Instrument;

pub const REQUEST_ID: &str = "x-request-id";

fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// The client's address: the TCP peer, or, when the peer is one of
/// `TRUSTED_PROXIES`, the address that proxy appended to `X-Forwarded-For`
/// (else `Forwarded`). Anyone can send those headers, so they are never
/// believed from anyone else.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return peer;
    }
    client_ip::rightmost_x_forwarded_for(headers).or_else(|_| client_ip::rightmost_forwarded(headers)).unwrap_or(peer)
}

pub async fn request_context(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let client_ip = client_ip(peer, req.headers(), &state.core.settings.trusted_proxies);
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
    use super::*;

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.7"));
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(proxy, &headers, &[]), proxy, "no proxy trusted: the peer");
        assert_eq!(client_ip("198.51.100.1".parse().unwrap(), &headers, &trusted).to_string(), "198.51.100.1");
        assert_eq!(client_ip(proxy, &headers, &trusted).to_string(), "203.0.113.7", "what the proxy appended");

        let mut forwarded = HeaderMap::new();
        forwarded.insert("forwarded", HeaderValue::from_static("for=192.0.2.60;proto=http"));
        assert_eq!(client_ip(proxy, &forwarded, &trusted).to_string(), "192.0.2.60");
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy, "no header: the peer");
    }

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
