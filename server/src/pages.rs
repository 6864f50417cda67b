//! Pages the server renders without Leptos: they must work while Redis is
//! down or after a panic, when the app itself cannot be trusted to render.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{title} · Keyhold</title><link rel=\"stylesheet\" href=\"{css}\">\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"></head><body>\
         <header class=\"site-header\"><nav class=\"container nav\"><a class=\"brand\" href=\"/\">\
         <span class=\"brand-mark\" aria-hidden=\"true\">⬢</span>Keyhold</a></nav></header>\
         <main id=\"main\" class=\"container\"><section class=\"card narrow center\">{body}</section></main>\
         </body></html>",
        title = escape(title),
        css = crate::assets::css_href(),
    );
    let mut res = Response::new(Body::from(html));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// 503 while Redis cannot be reached.
pub fn unavailable(request_id: &str, retry_after: u64) -> Response {
    let mut res = page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        &format!(
            "<p class=\"status-code\">503</p><h1>Keyhold is temporarily unavailable</h1>\
             <p>We cannot reach our data store right now. Please try again in a few seconds.</p>\
             <p class=\"muted\">Request id: <code data-testid=\"request-id\">{}</code></p>\
             <a class=\"button\" href=\"\">Try again</a>",
            escape(request_id)
        ),
    );
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    res
}

/// 500 after an unexpected failure.
pub fn internal_error(request_id: &str) -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &format!(
            "<p class=\"status-code\">500</p><h1>Something went wrong on our side</h1>\
             <p>The problem has been recorded. Please try again; if it keeps happening, \
             quote this request id.</p>\
             <p class=\"muted\">Request id: <code data-testid=\"request-id\">{}</code></p>\
             <a class=\"button\" href=\"/\">Go to the home page</a>",
            escape(request_id)
        ),
    )
}

/// 403 for a state-changing request from another site.
pub fn forbidden_origin() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Request refused",
        "<p class=\"status-code\">403</p><h1>Request refused</h1>\
         <p>This form was sent from another site, so we did not act on it.</p>\
         <a class=\"button\" href=\"/\">Go to the home page</a>",
    )
}
