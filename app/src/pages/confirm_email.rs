use crate::components::form::{FormAlert, form_error};
use crate::server_fns::ConfirmEmail;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The link that confirms the address of an account registered by SMS.
/// Confirming takes a click (a POST), so link scanners cannot use it up.
#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let token = use_query_map().get_untracked().get("token").unwrap_or_default();
    view! {
        <Title text="Confirm your address" />
        <section class="card narrow center">
            <h1>"Confirm your address"</h1>
            <p class="lead">"Once confirmed, you can log in and reset your password with this address."</p>
            <ConfirmForm token />
        </section>
    }
}

#[island]
fn ConfirmForm(token: String) -> impl IntoView {
    let confirm = ServerAction::<ConfirmEmail>::new();
    let confirm_pending = confirm.pending();
    view! {
        <FormAlert message=form_error(confirm.value()) />
        <ActionForm action=confirm attr:class="form" attr:data-testid="confirm-email-form">
            <input type="hidden" name="token" value=token />
            <button type="submit" class="button button-wide" disabled=move || confirm_pending.get()>
                "Confirm my address"
            </button>
        </ActionForm>
    }
}
