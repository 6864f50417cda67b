//! A file `PUT` with upload progress. `fetch` cannot report how many bytes
//! went out; `XMLHttpRequest`'s upload events can. Browser only.

use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

/// An upload in flight. Keep it for as long as its callbacks may run: they
/// live as long as it does.
pub struct Upload {
    xhr: XmlHttpRequest,
    _handlers: Vec<Closure<dyn FnMut(ProgressEvent)>>,
}

/// How a `PUT` ended.
pub enum Outcome {
    /// The server answered (any status) with this body.
    Answered(u16, String),
    /// The connection broke.
    Failed,
    Aborted,
}

impl Upload {
    /// Starts `PUT url` with `file` as the body. `progress(sent, total)`
    /// follows the bytes; `done` is called once at the end.
    pub fn start(
        url: &str,
        headers: &[(String, String)],
        file: &File,
        progress: impl Fn(f64, f64) + 'static,
        done: impl FnOnce(Outcome) + 'static,
    ) -> Result<Self, JsValue> {
        let xhr = XmlHttpRequest::new()?;
        xhr.open("PUT", url)?;
        for (name, value) in headers {
            xhr.set_request_header(name, value)?;
        }
        let done = Rc::new(RefCell::new(Some(done)));
        let finish = move |outcome: Outcome| {
            if let Some(done) = done.borrow_mut().take() {
                done(outcome);
            }
        };
        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
            if e.length_computable() {
                progress(e.loaded(), e.total());
            }
        });
        let answered = {
            let finish = finish.clone();
            let xhr = xhr.clone();
            Closure::<dyn FnMut(ProgressEvent)>::new(move |_| {
                let body = xhr.response_text().ok().flatten().unwrap_or_default();
                finish(Outcome::Answered(xhr.status().unwrap_or(0), body));
            })
        };
        let failed = {
            let finish = finish.clone();
            Closure::<dyn FnMut(ProgressEvent)>::new(move |_| finish(Outcome::Failed))
        };
        let aborted = Closure::<dyn FnMut(ProgressEvent)>::new(move |_| finish(Outcome::Aborted));
        xhr.upload()?.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        xhr.set_onload(Some(answered.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(failed.as_ref().unchecked_ref()));
        xhr.set_onabort(Some(aborted.as_ref().unchecked_ref()));
        xhr.send_with_opt_blob(Some(file))?;
        Ok(Self { xhr, _handlers: vec![on_progress, answered, failed, aborted] })
    }

    pub fn abort(&self) {
        let _ = self.xhr.abort();
    }
}

/// The `message` of a JSON error body, if it has one.
pub fn error_message(body: &str) -> Option<String> {
    let value = js_sys::JSON::parse(body).ok()?;
    js_sys::Reflect::get(&value, &JsValue::from_str("message")).ok()?.as_string()
}
