use crate::components::checks;
use crate::components::field::TextField;
use crate::components::form::{FormAlert, echoed, form_error};
use crate::server_fns::ForgotPassword;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    view! {
        <Title text="Forgot your password" />
        <section class="card narrow">
            <h1>"Forgot your password?"</h1>
            <p class="lead">"Enter the email address of your account. We will send you a code to set a new password."</p>
            <ForgotForm email=echoed("email").unwrap_or_default() />
            <p class="aside">"Remembered it? " <a href="/login">"Log in"</a></p>
        </section>
    }
}

#[island]
fn ForgotForm(email: String) -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let pending = action.pending();
    let value = action.value();
    view! {
        <FormAlert message=form_error(value) />
        <ActionForm action=action attr:class="form" attr:novalidate=true attr:data-testid="forgot-form">
            <TextField action_value=value name="email" label="Email" kind="email" autocomplete="email"
                required=true maxlength=254 check=checks::email value=email />
            <button type="submit" class="button button-wide" disabled=move || pending.get()>
                "Send me a code"
            </button>
        </ActionForm>
    }
}
