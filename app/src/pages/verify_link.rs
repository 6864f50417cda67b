use crate::components::form::{FormAlert, form_error};
use crate::server_fns::ConfirmLink;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The magic link lands here. Confirming takes a click (a POST), so link
/// scanners that fetch URLs from emails cannot use up the link.
#[component]
pub fn VerifyLinkPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let email = query.get("email").unwrap_or_default();
    let token = query.get("token").unwrap_or_default();
    view! {
        <Title text="Confirm your email" />
        <section class="card narrow center">
            <h1>"Confirm your email"</h1>
            <p class="lead">"Finish creating the account for " <strong>{email.clone()}</strong> "."</p>
            <ConfirmLinkForm email token />
            <p class="aside">"Link not working? " <a href="/register">"Start again"</a></p>
        </section>
    }
}

#[island]
fn ConfirmLinkForm(email: String, token: String) -> impl IntoView {
    let confirm = ServerAction::<ConfirmLink>::new();
    let confirm_pending = confirm.pending();
    view! {
        <FormAlert message=form_error(confirm.value()) />
        <ActionForm action=confirm attr:class="form" attr:data-testid="confirm-form">
            <input type="hidden" name="email" value=email />
            <input type="hidden" name="token" value=token />
            <button type="submit" class="button button-wide" disabled=move || confirm_pending.get()>
                "Confirm and log in"
            </button>
        </ActionForm>
    }
}
