//! The site's build output under `/pkg` (wasm, JS, CSS), served from memory.
//!
//! The files are read once at start-up, with the brotli and gzip variants
//! the release build writes beside them (`*.br`, `*.gz`). A request costs a
//! map lookup: no file system, no session, no Redis. The variant follows
//! `Accept-Encoding`; a file whose name carries its content's hash
//! (`keyhold.<hash>.wasm`) is cached for a year as immutable, other files
//! are revalidated by ETag.
//!
//! The hash is checked, not assumed: a build step that rewrites a file after
//! cargo-leptos named it would leave a name that outlives its content.
//! Cached as immutable, a returning browser would keep the old file after a
//! deploy.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// One file and its compressed variants.
struct Asset {
    identity: Bytes,
    br: Option<Bytes>,
    gzip: Option<Bytes>,
    content_type: &'static str,
    etag: HeaderValue,
    cache_control: HeaderValue,
}

/// The files under `/pkg`, by name.
#[derive(Clone, Default)]
pub struct Assets(Arc<HashMap<String, Asset>>);

/// The stylesheet's address, for pages rendered outside Leptos.
static CSS_HREF: OnceLock<String> = OnceLock::new();

/// Where the stylesheet is served (hashed name when the build hashed it).
pub fn css_href() -> &'static str {
    CSS_HREF.get().map_or("/pkg/keyhold.css", String::as_str)
}

impl Assets {
    /// Reads `dir` (the site's pkg directory); a missing directory serves
    /// nothing (the tests of the JSON API run without a site).
    pub fn load(dir: &std::path::Path, output_name: &str) -> std::io::Result<Self> {
        let mut files = HashMap::new();
        // Old builds' files may linger: the newest stylesheet is the one.
        let mut css: Option<(std::time::SystemTime, String)> = None;
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
            if !path.is_file() || name.ends_with(".br") || name.ends_with(".gz") {
                continue;
            }
            let identity = Bytes::from(std::fs::read(&path)?);
            let variant = |ext: &str| std::fs::read(format!("{}.{ext}", path.display())).ok().map(Bytes::from);
            // Same bytes, same tag, for every instance running this build.
            let mut hasher = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(&identity[..], &mut hasher);
            let etag = format!("\"{:016x}{:x}\"", std::hash::Hasher::finish(&hasher), identity.len());
            let hashed = names_its_content(&name, &identity);
            if name.ends_with(".css") && name.starts_with(&format!("{output_name}.")) {
                let modified = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
                if css.as_ref().is_none_or(|(newest, _)| modified > *newest) {
                    css = Some((modified, name.clone()));
                }
            }
            files.insert(
                name.clone(),
                Asset {
                    br: variant("br"),
                    gzip: variant("gz"),
                    content_type: content_type(&name),
                    etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
                    cache_control: HeaderValue::from_static(if hashed {
                        "public, max-age=31536000, immutable"
                    } else {
                        "public, no-cache"
                    }),
                    identity,
                },
            );
        }
        if let Some((_, name)) = css {
            let _ = CSS_HREF.set(format!("/pkg/{name}"));
        }
        Ok(Self(Arc::new(files)))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `GET /pkg/{name}`.
pub async fn serve(State(assets): State<Assets>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = assets.0.get(&name) else {
        return plain(StatusCode::NOT_FOUND, "Not found");
    };
    let mut res = if headers.get(header::IF_NONE_MATCH).is_some_and(|tag| matches(tag, &asset.etag)) {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else {
        let accepts = |coding: &str| accepts(&headers, coding);
        let (body, encoding) = match (&asset.br, &asset.gzip) {
            (Some(br), _) if accepts("br") => (br.clone(), Some("br")),
            (_, Some(gz)) if accepts("gzip") => (gz.clone(), Some("gzip")),
            _ => (asset.identity.clone(), None),
        };
        let mut res = Response::new(Body::from(body));
        if let Some(encoding) = encoding {
            res.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        res
    };
    let h = res.headers_mut();
    h.insert(header::ETAG, asset.etag.clone());
    h.insert(header::CACHE_CONTROL, asset.cache_control.clone());
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut res = Response::new(Body::from(text));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    res
}

/// Whether `If-None-Match` names this ETag (or `*`).
fn matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else { return false };
    let etag = etag.to_str().unwrap_or_default();
    list.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag)
}

/// Whether `Accept-Encoding` admits `coding` (listed, or `*`, with q > 0).
fn accepts(headers: &HeaderMap, coding: &str) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case(coding) || name == "*") && q > 0.0
        },
    )
}

/// The hash in `name.<hash>.ext` as the build writes it: 22 base64url characters.
fn name_hash(name: &str) -> Option<&str> {
    let mut parts = name.rsplit('.');
    let (_ext, hash) = (parts.next(), parts.next());
    hash.filter(|h| h.len() == 22 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .filter(|_| parts.next().is_some())
}

/// Whether the name's hash is the content's: cargo-leptos names files by the
/// MD5 of their bytes, base64url without padding.
fn names_its_content(name: &str, content: &[u8]) -> bool {
    use base64::Engine as _;
    use md5::Digest as _;
    name_hash(name)
        .is_some_and(|hash| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(md5::Md5::digest(content)) == hash)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_and_encodings() {
        assert_eq!(name_hash("keyhold.AbCdEfGhIjKlMnOpQrStUv.wasm"), Some("AbCdEfGhIjKlMnOpQrStUv"));
        assert_eq!(name_hash("keyhold.wasm"), None);
        assert_eq!(name_hash("AbCdEfGhIjKlMnOpQrStUv.wasm"), None);
        // MD5 of "hello", base64url without padding.
        assert!(names_its_content("keyhold.XUFAKrxLKna5cZ2REBfFkg.js", b"hello"));
        assert!(!names_its_content("keyhold.XUFAKrxLKna5cZ2REBfFkg.js", b"hello, rewritten"));
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br;q=0"));
        assert!(accepts(&h, "gzip") && !accepts(&h, "br"));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("BR;q=0.5"));
        assert!(accepts(&h, "br"));
        assert!(matches(&HeaderValue::from_static("W/\"a\", \"b\""), &HeaderValue::from_static("\"b\"")));
    }
}
