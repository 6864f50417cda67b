use crate::components::avatar::Avatar;
use crate::components::checks;
use crate::components::field::TextField;
use crate::components::form::{FormAlert, FormValues, Notice, form_error};
use crate::error::code;
use crate::server_fns::{ProfileView, ResendConfirmation, UpdateProfile, profile};
use keyhold::domain::Language;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let query = use_query_map().get_untracked();
    let notice = if query.get("changed").is_some() {
        Some("Your password is changed. Every other session has been logged out.")
    } else if query.get("reset").is_some() {
        Some("Your new password is set, and you are logged in.")
    } else if query.get("confirmation").is_some() {
        Some("We sent the confirmation link again. It is valid for 24 hours.")
    } else if query.get("done").as_deref() == Some("picture") {
        Some("Your new picture is set.")
    } else if query.get("saved").is_some() {
        Some("Your profile is saved.")
    } else {
        None
    };
    let picture_error = query.get("error");
    view! {
        <Title text="Your profile" />
        {Suspend::new(async move {
            match profile().await {
                Err(e) if e.is(code::NOT_LOGGED_IN) => view! { <Redirect path="/login?next=%2Fprofile" /> }.into_any(),
                Err(e) => view! { <p class="alert alert-error">{e.to_string()}</p> }.into_any(),
                Ok(p) => view! { <ProfileCard profile=p notice picture_error /> }.into_any(),
            }
        })}
    }
}

/// For an SMS registration whose address is not confirmed yet.
#[island]
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
fn PictureForm(max_bytes: u64, error: Option<String>) -> impl IntoView {
    let error = error.map(|c| picture_error(&c, max_bytes));
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
fn ProfileCard(profile: ProfileView, notice: Option<&'static str>, picture_error: Option<String>) -> impl IntoView {
    // After a round trip without JavaScript, show what was typed.
    let echo = use_context::<FormValues>();
    // A plain visit shows the profile and nothing else: its card may be the
    // one rendered for the same profile before (`crate::ssr::cards`). Not
    // so after a form came back: its notice, its picture error, what was
    // typed, or a form's error from the URL (which the card's actions start
    // from) are part of the card then.
    #[cfg(feature = "ssr")]
    if notice.is_none()
        && picture_error.is_none()
        && echo.is_none()
        && use_context::<leptos::server::ServerActionError>().is_none()
        && let Some(state) = use_context::<crate::ssr::AppState>()
    {
        let html = state.cards.get_or_render(&profile, || {
            view! { <CardContent profile=profile.clone() notice=None picture_error=None echo=None /> }.to_html()
        });
        return view! { <section class="card narrow" data-testid="profile" inner_html=html></section> }.into_any();
    }
    view! {
        <section class="card narrow" data-testid="profile">
            <CardContent profile notice picture_error echo />
        </section>
    }
    .into_any()
}

#[component]
fn CardContent(
    profile: ProfileView,
    notice: Option<&'static str>,
    picture_error: Option<String>,
    echo: Option<FormValues>,
) -> impl IntoView {
    let typed = |field: &str, saved: &str| echo.as_ref().and_then(|e| e.get(field)).unwrap_or_else(|| saved.to_owned());
    let fields = ProfileFields {
        name: typed("name", &profile.name),
        phone: typed("phone", &profile.phone),
        address: typed("address", &profile.address),
        agency: typed("agency", &profile.agency),
        language: typed("language", &profile.language),
        newsletter: match &echo {
            Some(e) => e.get("newsletter").is_some_and(|n| !n.is_empty()),
            None => profile.newsletter,
        },
        account_hint: if profile.account_number_masked.is_empty() {
            "Up to 13 digits, with the check digit after a dash.".to_owned()
        } else {
            format!("Ends in {}. Leave blank to keep it.", profile.account_number_masked)
        },
    };
    view! {
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
        <PictureForm max_bytes=profile.picture_max_bytes error=picture_error />
        <Notice message=notice.map(str::to_owned) />
        {(!profile.email_verified).then(|| view! { <UnconfirmedAddress /> })}
        <ProfileForm fields />
        <p class="aside"><a href="/change-password">"Change your password"</a></p>
    }
}

/// What the profile form starts with: the stored values, or what was typed
/// before a round trip without JavaScript.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct ProfileFields {
    name: String,
    phone: String,
    address: String,
    agency: String,
    language: String,
    newsletter: bool,
    account_hint: String,
}

#[island]
fn ProfileForm(fields: ProfileFields) -> impl IntoView {
    let action = ServerAction::<UpdateProfile>::new();
    let value = action.value();
    let pending = action.pending();
    let ProfileFields { name, phone, address, agency, language, newsletter, account_hint } = fields;
    view! {
        <FormAlert message=form_error(value) />
        <ActionForm action=action attr:class="form" attr:novalidate=true attr:data-testid="profile-form">
            <TextField action_value=value name="name" label="Full name" autocomplete="name" required=true
                maxlength=100 check=checks::name value=name />
            <TextField action_value=value name="phone" label="Phone" kind="tel" autocomplete="tel"
                check=checks::phone value=phone />
            <TextField action_value=value name="address" label="Address" autocomplete="street-address"
                maxlength=300 value=address />
            <fieldset class="group">
                <legend>"Bank account for payouts"</legend>
                <div class="row-2">
                    <TextField action_value=value name="agency" label="Branch" inputmode="numeric"
                        maxlength=7 check=checks::agency hint="Like 0001." value=agency />
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
            <button type="submit" class="button button-wide" disabled=move || pending.get()>
                {move || if pending.get() { "Saving…" } else { "Save profile" }}
            </button>
        </ActionForm>
    }
}
