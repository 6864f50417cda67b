//! `/uploads`: the signed-in person's files. With JavaScript, chosen or
//! dropped files go straight to their upload URL, each with a progress bar
//! and a cancel button. Without it, the same form posts to the server,
//! which streams the files through the same steps and comes back here.

use crate::error::code;
use crate::server_fns::{FileRow, FilesView, files};
use keyhold::domain::human_size;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// What a failed form post means, from the fixed code it came back with.
fn error_text(code: &str, view: &FilesView) -> String {
    match code {
        "file_too_large" => format!("That file is too large: at most {} each.", human_size(view.max_bytes)),
        "quota_exceeded" => {
            format!(
                "That would take more than your {} of space. Delete some files first.",
                human_size(view.quota_bytes)
            )
        }
        "too_many_uploads" => "Too many uploads are in progress. Let them finish first.".to_owned(),
        "unsupported_type" => "That file's content is not what its type says.".to_owned(),
        "invalid_input" => "Choose a file to upload.".to_owned(),
        "upload_interrupted" => "The upload broke off. Please try again.".to_owned(),
        "not_found" => "There is no such file.".to_owned(),
        "storage_unavailable" | "service_unavailable" => {
            "File storage is unavailable right now. Please try again in a moment.".to_owned()
        }
        _ => "The upload did not work. Please try again.".to_owned(),
    }
}

fn done_text(done: &str) -> Option<String> {
    match done {
        "deleted" => Some("The file is deleted.".to_owned()),
        _ => match done.strip_prefix("uploaded-")?.parse::<u32>().ok()? {
            1 => Some("Your file is uploaded.".to_owned()),
            n => Some(format!("{n} files are uploaded.")),
        },
    }
}

#[component]
pub fn UploadsPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let (done, failed) = (query.get("done"), query.get("error"));
    view! {
        <Title text="Your files" />
        {Suspend::new(async move {
            match files().await {
                Err(e) if e.is(code::NOT_LOGGED_IN) => {
                    view! { <Redirect path="/login?next=%2Fuploads" /> }.into_any()
                }
                Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                Ok(view) => {
                    let notice = done.as_deref().and_then(done_text);
                    let error = failed.as_deref().map(|c| error_text(c, &view));
                    view! { <FilesCard view notice error /> }.into_any()
                }
            }
        })}
    }
}

/// The card: the upload form, then the files stored before the page
/// loaded, which the server renders once and the browser never hydrates
/// (so the list is not sent a second time as the island's props).
#[component]
fn FilesCard(view: FilesView, notice: Option<String>, error: Option<String>) -> impl IntoView {
    let FilesView { files, used_bytes, quota_bytes, max_bytes } = view;
    let had_files = !files.is_empty();
    view! {
        <section class="card wide" data-testid="uploads">
            <h1>"Your files"</h1>
            <UploadForm used_bytes quota_bytes max_bytes had_files notice error />
            {had_files.then(|| view! {
                <ul class="file-list" data-testid="file-list">
                    {files.into_iter().map(|f| view! { <FileItem f /> }).collect_view()}
                </ul>
            })}
        </section>
    }
}

/// The space used, the form and its queue: with JavaScript, files uploaded
/// here join a list of their own above the stored ones, without a page load.
#[island]
fn UploadForm(
    used_bytes: u64,
    quota_bytes: u64,
    max_bytes: u64,
    had_files: bool,
    notice: Option<String>,
    error: Option<String>,
) -> impl IntoView {
    let quota = quota_bytes;
    let list = Listing { files: RwSignal::new(Vec::new()), used: RwSignal::new(used_bytes) };
    let queue = RwSignal::new(Vec::<queue::Row>::new());
    view! {
        <p class="muted usage">
            <meter min="0" max=quota value=move || list.used.get().min(quota) aria-label="Space used"></meter>
            <span data-testid="usage">
                {move || format!("{} of {} used", human_size(list.used.get()), human_size(quota))}
            </span>
        </p>
        {notice.map(|n| view! { <div class="alert alert-success" role="status" data-testid="notice">{n}</div> })}
        {error.map(|e| view! { <div class="alert alert-error" role="alert" data-testid="form-error">{e}</div> })}
        <form method="post" action="/uploads" enctype="multipart/form-data" class="dropzone"
            data-testid="upload-form"
            on:submit=move |ev| queue::submit(ev, queue, list)
            on:dragover=queue::drag_over
            on:drop=move |ev| queue::dropped(ev, queue, list)>
            <label for="file-input" class="dropzone-label">
                <strong>"Choose files"</strong>" or drop them here"
            </label>
            <input id="file-input" type="file" name="file" multiple data-testid="file-input"
                on:change=move |ev| queue::chosen(ev, queue, list) />
            <p class="hint">{format!("Up to {} each.", human_size(max_bytes))}</p>
            <button type="submit" class="button">"Upload"</button>
        </form>
        <queue::Queue queue />
        <p class="empty muted" data-testid="no-files" hidden=move || had_files || !list.files.read().is_empty()>
            "No files yet."
        </p>
        <ul class="file-list fresh" data-testid="new-files" hidden=move || list.files.read().is_empty()>
            <For each=move || list.files.get() key=|f| f.key.clone() let:f>
                <FileItem f />
            </For>
        </ul>
    }
}

/// The files uploaded on this page, and the bytes all files hold.
#[derive(Clone, Copy)]
pub struct Listing {
    files: RwSignal<Vec<FileRow>>,
    used: RwSignal<u64>,
}

impl Listing {
    /// A file uploaded from this page: newest first.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn add(self, file: FileRow) {
        self.used.update(|u| *u += file.size);
        self.files.update(|f| f.insert(0, file));
    }
}

#[component]
fn FileItem(f: FileRow) -> impl IntoView {
    let download = format!("/uploads/{}", f.key);
    let delete = format!("/uploads/{}/delete", f.key);
    // "2026-11-22T09:40:00Z" → "2026-11-22 09:40 UTC"
    let date = f.created_at.get(..16).map(|d| format!("{} UTC", d.replace('T', " "))).unwrap_or_default();
    let label = format!("Delete {}", f.name);
    view! {
        <li class="file" data-testid="file">
            <div class="file-main">
                <a class="file-name" href=download.clone() download=f.name.clone()>{f.name.clone()}</a>
                <span class="file-meta muted">
                    {human_size(f.size)} " · " {f.content_type} " · "
                    <time datetime=f.created_at.clone()>{date}</time>
                </span>
            </div>
            <div class="file-actions">
                <a class="button button-quiet" href=download download=f.name.clone()>"Download"</a>
                <form method="post" action=delete class="inline-form">
                    <button type="submit" class="button button-quiet danger" aria-label=label>"Delete"</button>
                </form>
            </div>
        </li>
    }
}

/// The uploads in progress on this page (JavaScript only).
mod queue {
    use super::*;

    // Without the browser build nothing moves a row along.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    #[derive(Clone, Debug, PartialEq)]
    pub enum State {
        Starting,
        Sending,
        Checking,
        Done,
        Cancelled,
        Failed(String),
    }

    /// One file on its way. Signals only: cheap to copy into callbacks.
    #[derive(Clone, Copy)]
    pub struct Row {
        id: u32,
        name: RwSignal<String>,
        // Bytes. Whole numbers: the wasm then carries no float formatting.
        total: RwSignal<u64>,
        sent: RwSignal<u64>,
        state: RwSignal<State>,
        #[cfg(feature = "hydrate")]
        upload: StoredValue<Option<crate::components::upload_xhr::Upload>, LocalStorage>,
    }

    #[component]
    pub fn Queue(queue: RwSignal<Vec<Row>>) -> impl IntoView {
        view! {
            <ul class="upload-queue" aria-live="polite" data-testid="upload-queue">
                <For each=move || queue.get() key=|row| row.id let:row>
                    <li class="upload" data-testid="upload-row">
                        <div class="upload-head">
                            <span class="file-name">{move || row.name.get()}</span>
                            <span class="muted" data-testid="upload-status" role="status"
                                class:upload-failed=move || matches!(row.state.get(), State::Failed(_))>
                                {move || status(&row)}
                            </span>
                        </div>
                        <progress max=move || row.total.get().max(1) value=move || row.sent.get()
                            aria-label=move || format!("Upload of {}", row.name.get())></progress>
                        <button type="button" class="button button-quiet" data-testid="cancel-upload"
                            hidden=move || !matches!(row.state.get(), State::Starting | State::Sending)
                            on:click=move |_| cancel(row)>"Cancel"</button>
                    </li>
                </For>
            </ul>
        }
    }

    fn status(row: &Row) -> String {
        let (sent, total) = (row.sent.get(), row.total.get());
        match row.state.get() {
            State::Starting => "Starting…".to_owned(),
            State::Sending => format!("{} of {}", human_size(sent), human_size(total)),
            State::Checking => "Checking…".to_owned(),
            State::Done => "Uploaded".to_owned(),
            State::Cancelled => "Cancelled".to_owned(),
            State::Failed(message) => message,
        }
    }

    #[cfg(not(feature = "hydrate"))]
    mod browser {
        use super::{Listing, Row};
        use leptos::ev;
        use leptos::prelude::*;
        pub fn submit(_: ev::SubmitEvent, _: RwSignal<Vec<Row>>, _: Listing) {}
        pub fn chosen(_: ev::Event, _: RwSignal<Vec<Row>>, _: Listing) {}
        pub fn drag_over(_: ev::DragEvent) {}
        pub fn dropped(_: ev::DragEvent, _: RwSignal<Vec<Row>>, _: Listing) {}
        pub fn cancel(_: Row) {}
    }

    #[cfg(feature = "hydrate")]
    mod browser {
        use super::{Listing, Row, State};
        use crate::components::upload_xhr::{Outcome, Upload, error_message};
        use crate::server_fns::{cancel_upload, complete_upload, open_upload};
        use leptos::ev;
        use leptos::prelude::*;
        use leptos::task::spawn_local;
        use std::sync::atomic::{AtomicU32, Ordering};
        use web_sys::{File, FileList, HtmlInputElement};

        static NEXT_ID: AtomicU32 = AtomicU32::new(0);

        fn input() -> Option<HtmlInputElement> {
            use wasm_bindgen::JsCast;
            document().get_element_by_id("file-input")?.dyn_into().ok()
        }

        fn start_all(chosen: Option<FileList>, queue: RwSignal<Vec<Row>>, list: Listing) {
            let Some(chosen) = chosen else { return };
            for i in 0..chosen.length() {
                if let Some(file) = chosen.get(i) {
                    start(file, queue, list);
                }
            }
            // The same files chosen again start again.
            if let Some(input) = input() {
                input.set_value("");
            }
        }

        pub fn submit(ev: ev::SubmitEvent, queue: RwSignal<Vec<Row>>, list: Listing) {
            ev.prevent_default();
            start_all(input().and_then(|i| i.files()), queue, list);
        }

        pub fn chosen(ev: ev::Event, queue: RwSignal<Vec<Row>>, list: Listing) {
            start_all(event_target::<HtmlInputElement>(&ev).files(), queue, list);
        }

        pub fn drag_over(ev: ev::DragEvent) {
            ev.prevent_default();
        }

        pub fn dropped(ev: ev::DragEvent, queue: RwSignal<Vec<Row>>, list: Listing) {
            ev.prevent_default();
            start_all(ev.data_transfer().and_then(|d| d.files()), queue, list);
        }

        fn start(file: File, queue: RwSignal<Vec<Row>>, list: Listing) {
            let row = Row {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                name: RwSignal::new(file.name()),
                total: RwSignal::new(file.size() as u64),
                sent: RwSignal::new(0),
                state: RwSignal::new(State::Starting),
                upload: StoredValue::new_local(None),
            };
            queue.update(|q| q.insert(0, row));
            spawn_local(async move {
                let ticket = match open_upload(file.name(), file.size() as u64, file.type_()).await {
                    Ok(ticket) => ticket,
                    Err(e) => return row.state.set(State::Failed(e.to_string())),
                };
                if row.state.get_untracked() == State::Cancelled {
                    let _ = cancel_upload(ticket.key).await;
                    return;
                }
                row.state.set(State::Sending);
                let progress = move |sent: f64, total: f64| {
                    row.sent.set(sent as u64);
                    row.total.set(total as u64);
                };
                let key = ticket.key.clone();
                let done = move |outcome| spawn_local(finish(row, key, outcome, list));
                match Upload::start(&ticket.url, &ticket.headers, &file, progress, done) {
                    Ok(upload) => row.upload.set_value(Some(upload)),
                    Err(_) => row.state.set(State::Failed("Your browser could not start the upload.".to_owned())),
                }
            });
        }

        async fn finish(row: Row, key: String, outcome: Outcome, list: Listing) {
            match outcome {
                Outcome::Answered(200..=299, _) => {
                    row.state.set(State::Checking);
                    match complete_upload(key).await {
                        Ok(file) => {
                            row.sent.set(row.total.get_untracked());
                            row.state.set(State::Done);
                            list.add(file);
                        }
                        Err(e) => row.state.set(State::Failed(e.to_string())),
                    }
                }
                Outcome::Answered(status, body) => {
                    let message = error_message(&body).unwrap_or_else(|| format!("The upload was refused ({status})."));
                    row.state.set(State::Failed(message));
                }
                Outcome::Failed => row.state.set(State::Failed("The upload broke off. Please try again.".to_owned())),
                Outcome::Aborted => {
                    row.state.set(State::Cancelled);
                    let _ = cancel_upload(key).await;
                }
            }
        }

        pub fn cancel(row: Row) {
            match row.state.get_untracked() {
                State::Sending => row.upload.with_value(|u| {
                    if let Some(upload) = u {
                        upload.abort();
                    }
                }),
                // Not sent yet: the upload is cancelled as soon as it opens.
                State::Starting => row.state.set(State::Cancelled),
                _ => {}
            }
        }
    }

    pub use browser::{cancel, chosen, drag_over, dropped, submit};
}
