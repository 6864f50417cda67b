use crate::components::checks;
use crate::components::field::field_message;
use crate::components::form::{FormAlert, Notice, form_error};
use crate::error::{AppError, code};
use crate::server_fns::VerifyStatus;
use crate::server_fns::{ResendCode, VerifyCode, verification_status};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::time::Duration;

#[component]
pub fn VerifyPage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let email = query.get("email").unwrap_or_default();
    let sent = query.get("sent").as_deref() == Some("1");
    view! {
        <Title text="Enter your code" />
        <section class="card narrow">
            <h1>"Enter your code"</h1>
            <p class="lead">
                "We sent a 6-digit code for " <strong data-testid="verify-email">{email.clone()}</strong>
                " by email, or by SMS if you chose it. You can also use the link in the email."
            </p>
            {Suspend::new(async move {
                let status = verification_status(email.clone()).await.ok();
                view! { <VerifyForms email sent status /> }
            })}
        </section>
    }
}

/// The code form and the resend form: each one's failure can say to start again.
#[island]
fn VerifyForms(email: String, sent: bool, status: Option<VerifyStatus>) -> impl IntoView {
    let verify = ServerAction::<VerifyCode>::new();
    let verify_pending = verify.pending();
    let resend = ServerAction::<ResendCode>::new();

    let code_local = RwSignal::new(None::<String>);
    let code_message = field_message(verify.value(), code_local, "code");
    let verify_error = form_error(verify.value());
    let resend_email = email.clone();
    let resend_error = form_error(resend.value());
    let notice = Signal::derive(move || {
        let resent = matches!(resend.value().get(), Some(Ok(()))) || sent;
        resent.then(|| "We sent you a new code. Earlier codes no longer work.".to_owned())
    });
    let start_again = Signal::derive(move || {
        let expired = |v: Option<Result<(), AppError>>| matches!(v, Some(Err(e)) if e.is(code::CODE_EXPIRED));
        expired(verify.value().get()) || expired(resend.value().get())
    });

    view! {
        <Notice message=notice />
        <FormAlert message=verify_error />
        {move || start_again.get().then(|| view! {
            <p class="alert alert-info">
                <a href="/register">"Start again"</a> " to get a fresh code."
            </p>
        })}
        <ActionForm action=verify attr:class="form" attr:novalidate=true attr:data-testid="verify-form">
            <input type="hidden" name="email" value=email />
            <div class="field" class:has-error=move || code_message.get().is_some()>
                <label for="code">"Verification code"</label>
                <input
                    id="code"
                    name="code"
                    class="code-input"
                    type="text"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    pattern="[0-9]{6}"
                    maxlength="7"
                    required
                    aria-invalid=move || if code_message.get().is_some() { "true" } else { "false" }
                    aria-describedby="code-error"
                    on:input=move |_| code_local.set(None)
                    on:blur=move |ev| {
                        let text = event_target_value(&ev);
                        if !text.is_empty() {
                            code_local.set(checks::code(&text));
                        }
                    }
                />
                <p class="field-error" id="code-error" role="alert" hidden=move || code_message.get().is_none()>
                    {move || code_message.get().unwrap_or_default()}
                </p>
            </div>
            <button type="submit" class="button button-wide" disabled=move || verify_pending.get()>
                {move || if verify_pending.get() { "Checking…" } else { "Verify" }}
            </button>
        </ActionForm>

        <div class="resend">
            <h2>"Didn't get it?"</h2>
            <FormAlert message=resend_error testid="resend-error" />
            <ResendControls status resend email=resend_email ended=start_again />
        </div>
    }
}

/// "Send a new code" with the cooldown: a live countdown with JavaScript; a
/// plain button (and a server-side check) without, so it never stays disabled
/// in a page that cannot update itself.
#[component]
fn ResendControls(
    status: Option<VerifyStatus>,
    resend: ServerAction<ResendCode>,
    email: String,
    /// The code ran out of attempts or time since the page loaded.
    ended: Signal<bool>,
) -> impl IntoView {
    let pending = resend.pending();
    let was_live = status.as_ref().is_some_and(|s| s.live || s.sends_left > 0);
    let live = move || was_live && !ended.get();
    let sends_left = status.as_ref().map(|s| s.sends_left).unwrap_or(0);
    let wait = RwSignal::new(status.as_ref().map(|s| s.resend_in).unwrap_or(0));
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        hydrated.set(true);
        let handle = set_interval_with_handle(
            move || {
                if wait.get_untracked() > 0 {
                    wait.update(|w| *w -= 1);
                }
            },
            Duration::from_secs(1),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    view! {
        <p class="muted" data-testid="resend-info">
            {move || {
                if !live() {
                    "This code is no longer active. Start again to get a new one.".to_owned()
                } else if wait.get() > 0 {
                    format!("You can ask for a new code in {} seconds.", wait.get())
                } else {
                    format!("You can ask for {sends_left} more code(s).")
                }
            }}
        </p>
        <ActionForm action=resend attr:class="form inline-form" attr:data-testid="resend-form">
            <input type="hidden" name="email" value=email />
            <button
                type="submit"
                class="button button-secondary"
                disabled=move || pending.get() || (hydrated.get() && wait.get() > 0)
                data-testid="resend"
            >
                "Send a new code"
            </button>
        </ActionForm>
    }
}
