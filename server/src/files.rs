//! Files for people in a browser (README: "Uploads"): the forms that work
//! without JavaScript (upload, delete, profile picture), downloads with the
//! session cookie, and the public profile pictures. Each takes the same
//! steps as the JSON API, through `keyhold::flows::uploads`.

use crate::api::Reported;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Extension, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use keyhold::domain::{ObjectKey, UploadKind};
use keyhold::flows::FlowError;
use keyhold::flows::uploads::{self, Download, UploadRequest};
use keyhold_app::auth::AuthSession;
use keyhold_app::ssr::failure;
use keyhold_app::ssr::{AppState, RequestContext};
use uuid::Uuid;

/// A response to a download: the bytes as an attachment, or a redirect to a
/// presigned URL that serves them the same way.
pub fn attachment_response(download: Download) -> Response {
    match download {
        Download::Redirect(_, url) => private(Redirect::temporary(&url).into_response()),
        Download::Stream(file, stream) => {
            let mut res = Response::new(Body::from_stream(stream));
            let headers = res.headers_mut();
            set(headers, header::CONTENT_TYPE, file.content_type.as_str());
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
            set(headers, header::CONTENT_DISPOSITION, &uploads::attachment(&file.name));
            // Even if a browser rendered it, the file could run nothing.
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
            private(res)
        }
    }
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    // Values come from parsed types; one that is still no header is dropped.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn private(mut res: Response) -> Response {
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    res
}

/// `GET /pictures/{object_key}`: a profile picture, shown inline. Its key
/// changes with every new picture, so it may be cached for good.
pub async fn picture(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    let Ok(key) = ObjectKey::parse(&key) else { return StatusCode::NOT_FOUND.into_response() };
    match uploads::picture(&state.core, &key).await {
        Ok(Download::Stream(file, stream)) => {
            let mut res = Response::new(Body::from_stream(stream));
            let headers = res.headers_mut();
            set(headers, header::CONTENT_TYPE, file.content_type.as_str());
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            res
        }
        Ok(Download::Redirect(_, url)) => Redirect::temporary(&url).into_response(),
        Err(FlowError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// A malformed key is as absent as a missing one.
fn page_key(raw: &str) -> Result<ObjectKey, FlowError> {
    ObjectKey::parse(raw).map_err(|_| FlowError::NotFound)
}

fn signed_in(auth: &AuthSession) -> Option<Uuid> {
    auth.user.as_ref().map(|u| u.id)
}

fn to_login(back: &str) -> Response {
    Redirect::to(&format!("/login?next={back}")).into_response()
}

/// Back to `page` with what happened, as a fixed code the page turns into
/// words (nothing the client sent is reflected). Failures reach the error
/// log like any other.
fn back(state: &AppState, ctx: &RequestContext, page: &str, outcome: Result<String, FlowError>) -> Response {
    match outcome {
        Ok(done) => Redirect::to(&format!("{page}?done={done}")).into_response(),
        Err(err) => {
            let (classified, entry) = failure::report(err, ctx, &state.core.health);
            let mut res = Redirect::to(&format!("{page}?error={}", classified.error.code)).into_response();
            if let Some(entry) = entry {
                res.extensions_mut().insert(Reported(entry));
            }
            res
        }
    }
}

/// The request's length: an upper bound on the files in it.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok())
}

/// Streams the form's `file` parts into the store, one upload each.
async fn receive_form(
    state: &AppState,
    user: Uuid,
    kind: UploadKind,
    bound: Option<u64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<usize, FlowError> {
    let invalid = || FlowError::Invalid(keyhold::flows::FieldErrors::single("file", "Choose a file to upload."));
    let mut multipart = multipart.map_err(|_| invalid())?;
    let mut uploaded = 0;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return Err(FlowError::UploadInterrupted(keyhold::objects::ObjectError::Interrupted(Box::new(e))));
            }
        };
        // A form sent with no file chosen has a part with an empty name.
        let Some(name) = field.file_name().filter(|n| !n.is_empty()).map(str::to_owned) else { continue };
        if field.name() != Some("file") {
            continue;
        }
        let content_type = field.content_type().unwrap_or_default().to_owned();
        let request = UploadRequest { name: &name, size: 0, content_type: &content_type, kind };
        uploads::upload_stream(&state.core, user, request, bound, field).await?;
        uploaded += 1;
        if kind == UploadKind::Picture {
            break;
        }
    }
    if uploaded == 0 {
        return Err(invalid());
    }
    Ok(uploaded)
}

/// `POST /uploads` (multipart, no JavaScript needed): uploads the chosen
/// files and comes back to the list.
pub async fn upload_form(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    auth: AuthSession,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Some(user) = signed_in(&auth) else { return to_login("/uploads") };
    let outcome = receive_form(&state, user, UploadKind::File, content_length(&headers), multipart).await;
    back(&state, &ctx, "/uploads", outcome.map(|n| format!("uploaded-{n}")))
}

/// `POST /profile/picture` (multipart): a new profile picture.
pub async fn picture_form(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    auth: AuthSession,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Some(user) = signed_in(&auth) else { return to_login("/profile") };
    let outcome = receive_form(&state, user, UploadKind::Picture, content_length(&headers), multipart).await;
    back(&state, &ctx, "/profile", outcome.map(|_| "picture".to_owned()))
}

/// `GET /uploads/{object_key}`: downloads one of the signed-in user's files.
pub async fn download(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    auth: AuthSession,
    Path(key): Path<String>,
) -> Response {
    let Some(user) = signed_in(&auth) else { return to_login("/uploads") };
    let result = match page_key(&key) {
        Ok(key) => uploads::download(&state.core, user, &key).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(download) => attachment_response(download),
        Err(err) => {
            let (classified, _) = failure::report(err, &ctx, &state.core.health);
            (classified.status, classified.error.message).into_response()
        }
    }
}

/// `POST /uploads/{object_key}/delete`: deletes one of the user's files.
pub async fn delete_form(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    auth: AuthSession,
    Path(key): Path<String>,
) -> Response {
    let Some(user) = signed_in(&auth) else { return to_login("/uploads") };
    let outcome = match page_key(&key) {
        Ok(key) => uploads::delete(&state.core, user, &key).await,
        Err(e) => Err(e),
    };
    back(&state, &ctx, "/uploads", outcome.map(|()| "deleted".to_owned()))
}
