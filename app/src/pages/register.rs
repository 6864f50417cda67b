use crate::components::checks;
use crate::components::field::{TextField, clear_field_error, field_message};
use crate::components::form::{FormAlert, echoed, form_error};
use crate::error::code;
use crate::server_fns::{Register, check_username};
use keyhold::domain::Username;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use std::time::Duration;

/// The availability line under the username field.
#[derive(Clone, Debug, PartialEq)]
enum Availability {
    Unknown,
    Checking,
    Available(String),
    Taken(String),
    Problem(String),
}

/// What was typed before a round trip without JavaScript (the password
/// never comes back).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Typed {
    name: String,
    username: String,
    email: String,
    phone: String,
    method: String,
    role: String,
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let echo = |field: &str| echoed(field).unwrap_or_default();
    let typed = Typed {
        name: echo("name"),
        username: echo("username"),
        email: echo("email"),
        phone: echo("phone"),
        method: echoed("delivery_method").filter(|m| m == "sms").unwrap_or_else(|| "email".to_owned()),
        role: echoed("role").filter(|r| r == "creator").unwrap_or_else(|| "consumer".to_owned()),
    };
    view! {
        <Title text="Create your account" />
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <p class="lead">"We will send you a 6-digit code to confirm it is really you."</p>
            <RegisterForm typed />
            <p class="aside">"Already have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}

#[island]
fn RegisterForm(typed: Typed) -> impl IntoView {
    let action = ServerAction::<Register>::new();
    let value = action.value();
    let pending = action.pending();

    // After a round trip without JavaScript, the check button's answer.
    let initial = value.with_untracked(|v| match v {
        Some(Err(e)) if e.is(code::USERNAME_STATUS) => {
            let name = typed.username.clone();
            if e.available == Some(true) { Availability::Available(name) } else { Availability::Taken(name) }
        }
        _ => Availability::Unknown,
    });
    let availability = RwSignal::new(initial);
    let username = RwSignal::new(typed.username.clone());
    let Typed { name, email, phone, method, role, .. } = typed;
    let username_local = RwSignal::new(None::<String>);
    let username_message = field_message(value, username_local, "username");
    let typed = StoredValue::new(0u64);

    // Live check while typing: parse locally, then ask the server after a pause.
    let run_check = move |name: String| {
        match Username::parse(&name) {
            Err(e) => availability.set(Availability::Problem(e.to_string())),
            Ok(parsed) => {
                availability.set(Availability::Checking);
                spawn_local(async move {
                    let answer = check_username(parsed.to_string()).await;
                    if username.get_untracked().trim().to_lowercase() != parsed.as_str() {
                        return; // typed on since
                    }
                    availability.set(match answer {
                        Ok(true) => Availability::Available(parsed.to_string()),
                        Ok(false) => Availability::Taken(parsed.to_string()),
                        Err(e) => Availability::Problem(e.to_string()),
                    });
                });
            }
        }
    };
    let on_username_input = move |ev| {
        let text = event_target_value(&ev);
        username.set(text.clone());
        username_local.set(None);
        clear_field_error(value, "username");
        let ticket = typed.get_value() + 1;
        typed.set_value(ticket);
        if text.trim().is_empty() {
            availability.set(Availability::Unknown);
            return;
        }
        set_timeout(
            move || {
                if typed.get_value() == ticket {
                    run_check(text);
                }
            },
            Duration::from_millis(350),
        );
    };

    view! {
            <FormAlert message=form_error(value) />
            <ActionForm action=action attr:class="form" attr:novalidate=true attr:data-testid="register-form">
                <TextField
                    action_value=value
                    name="name"
                    label="Full name"
                    autocomplete="name"
                    required=true
                    maxlength=100
                    check=checks::name
                    value=name
                />
                <div class="field" class:has-error=move || username_message.get().is_some()>
                    <label for="username">"Username"</label>
                    <div class="input-row">
                        <input
                            id="username"
                            name="username"
                            type="text"
                            autocomplete="username"
                            autocapitalize="none"
                            spellcheck="false"
                            maxlength="32"
                            required
                            value=username.get_untracked()
                            aria-invalid=move || if username_message.get().is_some() { "true" } else { "false" }
                            aria-describedby="username-hint username-status username-error"
                            on:input=on_username_input
                        />
                        <button
                            type="submit"
                            name="intent"
                            value="check"
                            formnovalidate
                            class="button button-secondary"
                            data-testid="check-username"
                            on:click=move |ev| {
                                ev.prevent_default();
                                run_check(username.get_untracked());
                            }
                        >
                            "Check"
                        </button>
                    </div>
                    <p class="hint" id="username-hint">"3–32 lowercase letters, digits, dots, dashes or underscores."</p>
                    <p class="availability" id="username-status" aria-live="polite" data-testid="username-status">
                        {move || match availability.get() {
                            Availability::Unknown => view! { <span></span> }.into_any(),
                            Availability::Checking => view! { <span class="muted">"Checking…"</span> }.into_any(),
                            Availability::Available(name) => {
                                view! { <span class="ok">"✓ @" {name} " is available"</span> }.into_any()
                            }
                            Availability::Taken(name) => {
                                view! { <span class="bad">"✗ @" {name} " is taken"</span> }.into_any()
                            }
                            // Once the field has its error (the form was sent), that says it.
                            Availability::Problem(_) if username_message.get().is_some() => {
                                view! { <span></span> }.into_any()
                            }
                            Availability::Problem(msg) => view! { <span class="bad">{msg}</span> }.into_any(),
                        }}
                    </p>
                    <p class="field-error" id="username-error" role="alert" hidden=move || username_message.get().is_none()>
                        {move || username_message.get().unwrap_or_default()}
                    </p>
                </div>
                <TextField
                    action_value=value
                    name="email"
                    label="Email"
                    kind="email"
                    autocomplete="email"
                    required=true
                    maxlength=254
                    check=checks::email
                    value=email
                />
                <TextField
                    action_value=value
                    name="phone"
                    label="Phone"
                    kind="tel"
                    autocomplete="tel"
                    hint="Needed only if you want your code by SMS."
                    check=checks::phone
                    value=phone
                />
                <TextField
                    action_value=value
                    name="password"
                    label="Password"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    maxlength=128
                    hint="8 to 128 characters. Common passwords are refused."
                    check=checks::new_password
                />
                <fieldset class="choices">
                    <legend>"Send my code by"</legend>
                    <label class="choice">
                        <input type="radio" name="delivery_method" value="email" checked=method == "email" />
                        <span>"Email"</span>
                    </label>
                    <label class="choice">
                        <input type="radio" name="delivery_method" value="sms" checked=method == "sms" />
                        <span>"SMS"</span>
                    </label>
                    <p class="hint">"By SMS, we also email you a link to confirm your address; until then you log in with your username."</p>
                </fieldset>
                <fieldset class="choices">
                    <legend>"I am here to"</legend>
                    <label class="choice">
                        <input type="radio" name="role" value="consumer" checked=role == "consumer" />
                        <span>"Buy and use things " <small class="muted">"(consumer)"</small></span>
                    </label>
                    <label class="choice">
                        <input type="radio" name="role" value="creator" checked=role == "creator" />
                        <span>"Create and sell " <small class="muted">"(creator)"</small></span>
                    </label>
                </fieldset>
                <button type="submit" class="button button-wide" disabled=move || pending.get() data-testid="register-submit">
                    {move || if pending.get() { "Sending your code…" } else { "Create account" }}
                </button>
            </ActionForm>
    }
}
