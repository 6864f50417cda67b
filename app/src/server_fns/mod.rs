//! Server functions, one module per area. Each is thin: parse the request,
//! call a flow, then redirect or fail through [`ssr::finish`]. Every one has
//! a fixed URL under `/fn/`.

mod admin;
mod password;
mod payments;
mod profile;
mod registration;
mod session;
mod uploads;

pub use admin::*;
pub use password::*;
pub use payments::*;
pub use profile::*;
pub use registration::*;
pub use session::*;
pub use uploads::*;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    //! What the server functions share on the server.

    use crate::auth::{AuthSession, User};
    use crate::components::form::FormValues;
    use crate::error::{AppError, code};
    use crate::ssr::fail;
    use keyhold::flows::{Core, FlowError};
    use keyhold::store::accounts;
    use uuid::Uuid;

    pub async fn auth_session() -> Result<AuthSession, AppError> {
        // What axum-login's extractor does, without cloning the request's parts.
        match crate::ssr::request_extension::<AuthSession>() {
            Some(session) => Ok(session),
            None => Err(fail(FlowError::unexpected("reading the session", "no auth session on the request")).await),
        }
    }

    /// The signed-in user, or `not_logged_in`.
    pub async fn signed_in_user() -> Result<User, AppError> {
        match auth_session().await?.user {
            Some(user) => Ok(user),
            None => Err(fail(FlowError::NotSignedIn).await),
        }
    }

    /// Logs the account in on this session, with a fresh session id.
    pub async fn log_in(core: &Core, user_id: Uuid) -> Result<(), AppError> {
        let account = match accounts::get(&core.redis, user_id).await {
            Ok(Some(account)) => account,
            Ok(None) => return Err(fail(FlowError::AccountGone).await),
            Err(e) => return Err(fail(e.into()).await),
        };
        let mut session = auth_session().await?;
        // axum-login cycles the id only for anonymous sessions; always do it.
        if let Err(e) = session.session.cycle_id().await {
            tracing::warn!(error = %e, "could not cycle the session id");
        }
        let user = User::from_account(core, account);
        match session.login(&user).await {
            Ok(()) => Ok(()),
            Err(e) => Err(fail(FlowError::unexpected("storing the login in the session", e.to_string())).await),
        }
    }

    const REGISTRATION: &str = "registration";

    /// The registration attempt this browser session started.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Attempt {
        email: String,
        attempt: String,
    }

    /// Remembers in the session the attempt it just started.
    pub async fn remember_attempt(email: &str, attempt: &str) -> Result<(), AppError> {
        let session = auth_session().await?.session;
        let value = Attempt { email: email.to_owned(), attempt: attempt.to_owned() };
        match session.insert(REGISTRATION, value).await {
            Ok(()) => Ok(()),
            Err(e) => Err(fail(FlowError::unexpected("storing the registration in the session", e.to_string())).await),
        }
    }

    /// The attempt this session started for `email`; empty when none (a
    /// page then finishes no registration).
    pub async fn attempt_for(email: &str) -> Result<String, AppError> {
        let session = auth_session().await?.session;
        let stored: Option<Attempt> = session.get(REGISTRATION).await.ok().flatten();
        let same =
            |a: &Attempt| keyhold::domain::Email::parse(&a.email).ok() == keyhold::domain::Email::parse(email).ok();
        Ok(stored.filter(same).map(|a| a.attempt).unwrap_or_default())
    }

    /// The most values and characters per value a failed form keeps.
    const MAX_VALUES: usize = 12;
    const MAX_VALUE_CHARS: usize = 300;
    /// Failed forms whose values one client may have kept per window.
    const MAX_KEPT: u64 = 60;
    const KEPT_WINDOW: u64 = 600;

    /// The end of a form's server function: redirect to `to` on success;
    /// on failure answer the error, with the form's values echoed back.
    pub async fn finish<T>(
        result: Result<T, FlowError>,
        to: impl FnOnce(&T) -> String,
        echo: Echo,
    ) -> Result<(), AppError> {
        match result {
            Ok(value) => {
                leptos_axum::redirect(&to(&value));
                Ok(())
            }
            Err(e) => {
                let err = fail(e).await;
                echo.keep_for(&err).await;
                Err(err)
            }
        }
    }

    /// The non-secret values a form sent, to show it again as it was typed
    /// after a round trip without JavaScript. Passwords and codes never go in.
    #[derive(Debug, Default, Clone)]
    pub struct Echo(Vec<(String, String)>);

    impl Echo {
        pub fn with(mut self, field: &str, value: impl AsRef<str>) -> Self {
            self.0.push((field.to_owned(), value.as_ref().to_owned()));
            self
        }

        pub fn with_optional(self, field: &str, value: &Option<String>) -> Self {
            self.with(field, value.as_deref().unwrap_or_default())
        }

        /// After a plain form post (JavaScript off) that comes back to the
        /// form, keeps the values in the session for the page that shows it
        /// again: never in the redirect's URL, where proxies and browser
        /// history would keep them. With JavaScript the form never left.
        pub async fn keep_for(self, err: &AppError) {
            let back_to_form = err.is(code::INVALID_INPUT) || err.is(code::USERNAME_STATUS) || !err.fields.is_empty();
            if !back_to_form || !crate::ssr::failure::is_form_post() {
                return;
            }
            // Bounded: a form's fields, each cut to what any field takes.
            let values: Vec<(String, String)> = self
                .0
                .into_iter()
                .take(MAX_VALUES)
                .map(|(k, v)| (k, v.chars().take(MAX_VALUE_CHARS).collect()))
                .collect();
            // A post without a cookie makes a new session: count them per client.
            let Ok(core) = crate::ssr::core() else { return };
            let key = keyhold::keys::form_values_kept(crate::ssr::request_context().client_ip);
            let allowed = keyhold::store::rate_limit::hit(&core.redis, &key, MAX_KEPT, KEPT_WINDOW).await;
            if !matches!(allowed, Ok(keyhold::store::rate_limit::Decision::Allowed)) {
                return;
            }
            if let Ok(session) = auth_session().await
                && let Err(e) = session.session.insert(FormValues::SESSION_KEY, values).await
            {
                tracing::warn!(error = %e, "the typed values could not be kept");
            }
        }
    }

    /// `path?name=value&…`, with the values encoded for a URL.
    pub fn path_with_query(path: &str, pairs: &[(&str, &str)]) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") }
    }

    /// A path on this site that a redirect may name. Browsers drop tabs and
    /// newlines from URLs and read `\` as `/`, so `/\t/evil.example` would
    /// become `//evil.example`: only plain path characters pass.
    pub fn is_local_path(p: &str) -> bool {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.contains("://")
            && p.chars().all(|c| c.is_ascii_graphic() && c != '\\')
    }

    /// Only same-site paths may be a redirect target after login.
    pub fn safe_next(next: Option<&str>) -> String {
        match next.map(str::trim) {
            Some(p) if is_local_path(p) => p.to_owned(),
            _ => "/profile".to_owned(),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn only_plain_local_paths_are_redirect_targets() {
            assert_eq!(safe_next(Some("/profile?tab=1")), "/profile?tab=1");
            for bad in [
                "https://evil.example",
                "//evil.example",
                "/\\evil.example",
                "/\t/evil.example",
                "/a\nb",
                "/\u{7f}x",
                "profile",
                "",
            ] {
                assert_eq!(safe_next(Some(bad)), "/profile", "{bad:?}");
            }
            assert_eq!(safe_next(None), "/profile");
        }

        #[test]
        fn query_values_are_encoded() {
            assert_eq!(
                path_with_query("/verify", &[("email", "a+b@x.io"), ("sent", "1")]),
                "/verify?email=a%2Bb%40x.io&sent=1"
            );
            assert_eq!(path_with_query("/reset-password", &[]), "/reset-password");
        }
    }
}
