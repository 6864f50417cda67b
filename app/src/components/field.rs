//! A labelled input with its hint and error message, wired to a server
//! action: the server's message for the field shows until the field is
//! edited; with JavaScript, leaving the field checks it at once.

use super::form::ActionValue;
use leptos::prelude::*;

/// Removes one field's server message (the person is fixing it).
pub fn clear_field_error<T: Send + Sync + 'static>(value: ActionValue<T>, field: &str) {
    value.update(|v| {
        if let Some(Err(e)) = v {
            e.fields.retain(|f| f.field != field);
        }
    });
}

/// Message for a field: the browser-side check first, then the server's.
pub fn field_message<T: Send + Sync + 'static>(
    value: ActionValue<T>,
    local: RwSignal<Option<String>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(message_of(value, local, field))
}

/// The same, read where it is used: a plain closure, for a field that reads
/// its message several times and needs no signal of it.
fn message_of<T: Send + Sync + 'static>(
    value: ActionValue<T>,
    local: RwSignal<Option<String>>,
    field: &'static str,
) -> impl Fn() -> Option<String> + Copy + Send + Sync + 'static {
    move || {
        local.get().or_else(|| value.with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.field(field))))
    }
}

#[component]
pub fn TextField<T: Send + Sync + 'static>(
    action_value: ActionValue<T>,
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(optional)] maxlength: Option<usize>,
    /// Browser-side check, run when the field loses focus.
    #[prop(optional)]
    check: Option<fn(&str) -> Option<String>>,
    /// Initial value, rendered by the server (e.g. echoed after a round trip
    /// without JavaScript).
    #[prop(optional)]
    value: Option<String>,
) -> impl IntoView {
    let local = RwSignal::new(None::<String>);
    // Read four times per render: a closure, not a signal to create and clean up.
    let message = message_of(action_value, local, name);
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    let described_by = match &hint {
        Some(_) => format!("{hint_id} {error_id}"),
        None => error_id.clone(),
    };
    view! {
        <div class="field" class:has-error=move || message().is_some()>
            <label for=name>{label}{(!required).then_some(view! { <span class="optional">" (optional)"</span> })}</label>
            <input
                id=name
                name=name
                type=kind
                autocomplete=autocomplete
                inputmode=inputmode
                maxlength=maxlength
                required=required
                // The attribute only: hydration leaves what was typed meanwhile.
                value=value
                aria-invalid=move || if message().is_some() { "true" } else { "false" }
                aria-describedby=described_by
                on:input=move |_| {
                    local.set(None);
                    clear_field_error(action_value, name);
                }
                on:blur=move |ev| {
                    if let Some(check) = check {
                        let text = event_target_value(&ev);
                        if !text.is_empty() {
                            local.set(check(&text));
                        }
                    }
                }
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
            <p class="field-error" id=error_id role="alert" hidden=move || message().is_none()>
                {move || message().unwrap_or_default()}
            </p>
        </div>
    }
}
