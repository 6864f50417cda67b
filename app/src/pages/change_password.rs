use crate::components::checks;
use crate::components::field::TextField;
use crate::components::form::{FormAlert, Notice, form_error};
use crate::components::layout::signed_in;
use crate::server_fns::{ChangePassword, SendChangeCode};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

/// Two steps: prove the current password (a code goes to the account's
/// address), then the code and the new password.
#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let notice = use_query_map()
        .get_untracked()
        .get("sent")
        .map(|_| "We emailed you a 6-digit code. Enter it below with your new password.".to_owned());
    view! {
        <Title text="Change your password" />
        {signed_in().is_none().then(|| view! { <Redirect path="/login?next=%2Fchange-password" /> })}
        <section class="card narrow">
            <h1>"Change your password"</h1>
            <Notice message=notice />
            <ChangeForms />
            <p class="aside">"Other devices will be logged out; this one stays logged in."</p>
        </section>
    }
}

#[island]
fn ChangeForms() -> impl IntoView {
    let send = ServerAction::<SendChangeCode>::new();
    let send_pending = send.pending();
    let change = ServerAction::<ChangePassword>::new();
    let change_pending = change.pending();
    view! {
        <h2 class="step">"1. Confirm it is you"</h2>
        <FormAlert message=form_error(send.value()) testid="send-error" />
        <ActionForm action=send attr:class="form" attr:novalidate=true attr:data-testid="send-code-form">
            <TextField action_value=send.value() name="current_password" label="Current password" kind="password"
                autocomplete="current-password" required=true maxlength=128 />
            <button type="submit" class="button button-secondary" disabled=move || send_pending.get()>
                "Email me a code"
            </button>
        </ActionForm>
        <h2 class="step">"2. Choose the new password"</h2>
        <FormAlert message=form_error(change.value()) />
        <ActionForm action=change attr:class="form" attr:novalidate=true attr:data-testid="change-form">
            <TextField action_value=change.value() name="code" label="Code from the email" inputmode="numeric"
                autocomplete="one-time-code" required=true maxlength=7 check=checks::code />
            <TextField action_value=change.value() name="new_password" label="New password" kind="password"
                autocomplete="new-password" required=true maxlength=128 check=checks::new_password
                hint="8 to 128 characters. Common passwords are refused." />
            <TextField action_value=change.value() name="confirm_password" label="New password again"
                kind="password" autocomplete="new-password" required=true maxlength=128 />
            <button type="submit" class="button button-wide" disabled=move || change_pending.get()>
                "Change password"
            </button>
        </ActionForm>
    }
}
