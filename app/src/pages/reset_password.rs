use crate::components::checks;
use crate::components::field::TextField;
use crate::components::form::{FormAlert, Notice, form_error};
use crate::error::code;
use crate::server_fns::{ForgotPassword, ResetPassword};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let email = query.get("email").unwrap_or_default();
    // With the emailed link, the code is not needed: the link proves the mailbox.
    let token = query.get("token").unwrap_or_default();
    let notice = query
        .get("sent")
        .map(|_| "If an account uses this address, a 6-digit code is on its way. It expires in 10 minutes.".to_owned());
    view! {
        <Title text="Set a new password" />
        <section class="card narrow">
            <h1>"Set a new password"</h1>
            <p class="lead">"For " <strong data-testid="reset-email">{email.clone()}</strong></p>
            <Notice message=notice />
            <ResetForms email token />
        </section>
    }
}

#[island]
fn ResetForms(email: String, token: String) -> impl IntoView {
    let by_link = !token.is_empty();
    let reset = ServerAction::<ResetPassword>::new();
    let reset_pending = reset.pending();
    let resend = ServerAction::<ForgotPassword>::new();
    let value = reset.value();
    let resend_email = email.clone();
    let start_again = Signal::derive(
        move || matches!(value.get(), Some(Err(e)) if e.is(code::CODE_EXPIRED) || e.is(code::LINK_EXPIRED)),
    );
    view! {
        <FormAlert message=form_error(value) />
        {move || start_again.get().then(|| view! {
            <p class="alert alert-info"><a href="/forgot-password">"Ask for a new code"</a></p>
        })}
        <ActionForm action=reset attr:class="form" attr:novalidate=true attr:data-testid="reset-form">
            <input type="hidden" name="email" value=email />
            <input type="hidden" name="token" value=token />
            {(!by_link).then(|| view! {
                <TextField action_value=value name="code" label="Code from the email" inputmode="numeric"
                    autocomplete="one-time-code" required=true maxlength=7 check=checks::code />
            })}
            <TextField action_value=value name="new_password" label="New password" kind="password"
                autocomplete="new-password" required=true maxlength=128 check=checks::new_password
                hint="8 to 128 characters. Common passwords are refused." />
            <TextField action_value=value name="confirm_password" label="New password again" kind="password"
                autocomplete="new-password" required=true maxlength=128 />
            <button type="submit" class="button button-wide" disabled=move || reset_pending.get()>
                "Set new password"
            </button>
        </ActionForm>
        <div class="resend">
            <h2>"Didn't get it?"</h2>
            <FormAlert message=form_error(resend.value()) testid="resend-error" />
            <ActionForm action=resend attr:class="form inline-form">
                <input type="hidden" name="email" value=resend_email />
                <button type="submit" class="button button-secondary" data-testid="resend">"Send a new code"</button>
            </ActionForm>
        </div>
    }
}
