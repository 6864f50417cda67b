use crate::components::field::TextField;
use crate::components::form::{FormAlert, Notice, echoed, form_error};
use crate::server_fns::Login;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let next = query.get("next").unwrap_or_default();
    let confirmed = (query.get("confirmed").as_deref() == Some("1"))
        .then(|| "Your address is confirmed. You can now log in with it.".to_owned());
    view! {
        <Title text="Log in" />
        <section class="card narrow">
            <h1>"Log in"</h1>
            <Notice message=confirmed />
            <LoginForm next identifier=echoed("identifier").unwrap_or_default() />
            <p class="aside"><a href="/forgot-password">"Forgot your password?"</a></p>
            <p class="aside">"New here? " <a href="/register">"Create an account"</a></p>
        </section>
    }
}

#[island]
fn LoginForm(next: String, identifier: String) -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let pending = action.pending();
    let value = action.value();
    view! {
        <FormAlert message=form_error(value) />
        <ActionForm action=action attr:class="form" attr:novalidate=true attr:data-testid="login-form">
            <input type="hidden" name="next" value=next />
            <TextField
                action_value=value
                name="identifier"
                label="Email or username"
                autocomplete="username"
                required=true
                maxlength=254
                value=identifier
            />
            <TextField
                action_value=value
                name="password"
                label="Password"
                kind="password"
                autocomplete="current-password"
                required=true
                maxlength=128
            />
            <button type="submit" class="button button-wide" disabled=move || pending.get()>
                {move || if pending.get() { "Logging in…" } else { "Log in" }}
            </button>
        </ActionForm>
    }
}
