use crate::components::avatar::Avatar;
use crate::components::checks;
use crate::components::field::TextField;
use crate::components::form::{FormAlert, Notice, came_back, echoed, form_error};
use crate::components::layout::AccountChanged;
use crate::error::code;
use crate::server_fns::{ProfileView, ResendConfirmation, UpdateProfile, profile};
use keyhold::domain::Language;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let query = use_query_map();
    let action = ServerAction::<UpdateProfile>::new();
    // Reload after a save, not after a refused one: the form keeps what
    // was typed next to its error messages.
    let saves = RwSignal::new(0usize);
    let account = use_context::<AccountChanged>();
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            saves.set(action.version().get_untracked());
            // The header shows the name too.
            if let Some(account) = account {
                account.notify();
            }
        }
    });
    let data = Resource::new(move || saves.get(), |_| profile());
    let notice = Signal::derive(move || {
        let q = query.read();
        if q.get("changed").is_some() {
            Some("Your password is changed. Every other session has been logged out.".to_owned())
        } else if q.get("reset").is_some() {
            Some("Your new password is set, and you are logged in.".to_owned())
        } else if q.get("confirmation").is_some() {
            Some("We sent the confirmation link again. It is valid for 24 hours.".to_owned())
        } else if q.get("done").as_deref() == Some("picture") {
            Some("Your new picture is set.".to_owned())
        } else if q.get("saved").is_some() || matches!(action.value().get(), Some(Ok(()))) {
            Some("Your profile is saved.".to_owned())
        } else {
            None
        }
    });
    view! {
        <Title text="Your profile" />
        <Suspense fallback=|| view! { <p class="container">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) if e.is(code::NOT_LOGGED_IN) => view! { <Redirect path="/login?next=%2Fprofile" /> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                    Ok(p) => view! { <ProfileCard profile=p action=action notice=notice /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// For an SMS registration whose address is not confirmed yet.
#[component]
fn UnconfirmedAddress() -> impl IntoView {
    let resend = ServerAction::<ResendConfirmation>::new();
    view! {
        <div class="alert alert-info" data-testid="email-unconfirmed">
            <p>"Your email address is not confirmed yet: until it is, log in with your username. \
                We emailed you a link."</p>
            <FormAlert message=form_error(resend.value()) testid="resend-confirmation-error" />
            <ActionForm action=resend attr:class="inline-form">
                <button type="submit" class="button button-secondary">"Send the link again"</button>
            </ActionForm>
        </div>
    }
}

/// What a picture form post came back with (a fixed code, never input).
fn picture_error(code: &str, max_bytes: u64) -> String {
    match code {
        "file_too_large" => format!("That picture is too large: at most {}.", keyhold::domain::human_size(max_bytes)),
        "unsupported_type" | "invalid_input" => "Choose a JPEG, PNG or WebP image.".to_owned(),
        "storage_unavailable" | "service_unavailable" => {
            "Pictures cannot be stored right now. Please try again in a moment.".to_owned()
        }
        _ => "The picture could not be uploaded. Please try again.".to_owned(),
    }
}

/// The profile picture: shown in the header and the nav, changed by a plain
/// multipart form (with or without JavaScript).
#[component]
fn PictureForm(max_bytes: u64) -> impl IntoView {
    let query = use_query_map();
    let error = query.read_untracked().get("error").map(|c| picture_error(&c, max_bytes));
    view! {
        <form method="post" action="/profile/picture" enctype="multipart/form-data" class="picture-form"
            data-testid="picture-form">
            <div class="field">
                <label for="picture-input">"Profile picture"</label>
                <input id="picture-input" type="file" name="file" accept="image/jpeg,image/png,image/webp"
                    data-testid="picture-input" />
                <p class="hint">{format!("JPEG, PNG or WebP, up to {}.", keyhold::domain::human_size(max_bytes))}</p>
                {error.map(|e| view! { <p class="field-error" role="alert" data-testid="picture-error">{e}</p> })}
            </div>
            <button type="submit" class="button button-secondary">"Upload picture"</button>
        </form>
    }
}

/// An address that a narrow screen wraps after its `@` rather than in the
/// middle of a word.
fn email_breaking_at_the_at(email: &str) -> impl IntoView + use<> {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let at = (!domain.is_empty()).then_some("@");
    view! { {local.to_owned()} {at} <wbr /> {domain.to_owned()} }
}

#[component]
fn ProfileCard(
    profile: ProfileView,
    action: ServerAction<UpdateProfile>,
    notice: Signal<Option<String>>,
) -> impl IntoView {
    let value = action.value();
    // After a round trip without JavaScript, show what was typed.
    let typed = move |field: &str, saved: &str| echoed(field).unwrap_or_else(|| saved.to_owned());
    let language = typed("language", &profile.language);
    let newsletter = if came_back() { echoed("newsletter").is_some_and(|n| !n.is_empty()) } else { profile.newsletter };
    let account_hint = if profile.account_number_masked.is_empty() {
        "Up to 13 digits, with the check digit after a dash.".to_owned()
    } else {
        format!("Ends in {}. Leave blank to keep it.", profile.account_number_masked)
    };
    view! {
        <section class="card narrow" data-testid="profile">
            <div class="profile-head">
                <Avatar picture=profile.profile_picture_url.clone() name=profile.name.clone() testid="profile-avatar" />
                <div>
                    <h1>{profile.name.clone()}</h1>
                    <p class="muted">
                        <span data-testid="profile-username">"@" {profile.username.clone()}</span>
                        " · " {email_breaking_at_the_at(&profile.email)} " · " {profile.role.clone()}
                    </p>
                </div>
            </div>
            <PictureForm max_bytes=profile.picture_max_bytes />
            <Notice message=notice />
            {(!profile.email_verified).then(|| view! { <UnconfirmedAddress /> })}
            <FormAlert message=form_error(value) />
            <ActionForm action=action attr:class="form" attr:novalidate=true attr:data-testid="profile-form">
                <TextField action_value=value name="name" label="Full name" autocomplete="name" required=true
                    maxlength=100 check=checks::name value=typed("name", &profile.name) />
                <TextField action_value=value name="phone" label="Phone" kind="tel" autocomplete="tel"
                    check=checks::phone value=typed("phone", &profile.phone) />
                <TextField action_value=value name="address" label="Address" autocomplete="street-address"
                    maxlength=300 value=typed("address", &profile.address) />
                <fieldset class="group">
                    <legend>"Bank account for payouts"</legend>
                    <div class="row-2">
                        <TextField action_value=value name="agency" label="Branch" inputmode="numeric"
                            maxlength=7 check=checks::agency hint="Like 0001." value=typed("agency", &profile.agency) />
                        <TextField action_value=value name="account_number" label="Account number"
                            inputmode="numeric" maxlength=16 check=checks::account_number hint=account_hint />
                    </div>
                </fieldset>
                <div class="field">
                    <label for="language">"Language"</label>
                    <select id="language" name="language">
                        {Language::ALL.iter().map(|l| {
                            view! { <option value=l.as_str() selected=l.as_str() == language>{l.label()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <label class="choice">
                    <input type="checkbox" name="newsletter" value="on" checked=newsletter />
                    <span>"Email me product news (about once a month)"</span>
                </label>
                <button type="submit" class="button button-wide" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Save profile" }}
                </button>
            </ActionForm>
            <p class="aside"><a href="/change-password">"Change your password"</a></p>
        </section>
    }
}
