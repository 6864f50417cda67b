//! Small pieces shared by the forms.

use crate::error::{AppError, code};
use leptos::prelude::*;

/// The result signal of a server action.
pub type ActionValue<T> = MappedSignal<Option<Result<T, AppError>>>;

/// The form-level message of a failed action, if any.
pub fn form_error<T: Send + Sync + 'static>(value: ActionValue<T>) -> Signal<Option<String>> {
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e)) if e.is_form_level() => Some(e.to_string()),
            Some(Err(e)) if e.is(code::INVALID_INPUT) => Some(e.to_string()),
            _ => None,
        })
    })
}

/// The values a form posted without JavaScript carried, when it failed:
/// kept in the session (never in the redirect's URL, where proxies and
/// browser history would keep them) and given to the page that shows the
/// form again, once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormValues(pub Vec<(String, String)>);

impl FormValues {
    /// Where the session keeps them until the form is shown again.
    pub const SESSION_KEY: &'static str = "form_values";

    /// What was typed into one field.
    pub fn get(&self, field: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == field).map(|(_, v)| v.clone())
    }
}

/// A value typed before a round trip without JavaScript.
pub fn echoed(field: &str) -> Option<String> {
    use_context::<FormValues>().and_then(|v| v.get(field))
}

/// A banner for the whole form.
#[component]
pub fn FormAlert(
    #[prop(into)] message: Signal<Option<String>>,
    #[prop(default = "form-error")] testid: &'static str,
) -> impl IntoView {
    view! {
        <div class="alert alert-error" role="alert" data-testid=testid hidden=move || message.get().is_none()>
            {move || message.get().unwrap_or_default()}
        </div>
    }
}

/// A success notice.
#[component]
pub fn Notice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <div class="alert alert-success" role="status" data-testid="notice" hidden=move || message.get().is_none()>
            {move || message.get().unwrap_or_default()}
        </div>
    }
}
