//! Typed settings from the environment. `.env` is read when present; real
//! environment variables win. A bad value stops start-up with a message that
//! names the variable; secrets never print (`Debug` redacts them).

use crate::domain::Email;
use crate::keys;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// A variable that could not be used, named so the operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {var} {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { var, reason: reason.into() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Plain-HTTP cookies allowed, a fixed development secret when none is set.
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub env: AppEnv,
    /// `service` in error records and keys (`SERVICE_NAME`).
    pub service_name: String,
    /// Public base URL used in links sent by email (`APP_URL`).
    pub app_url: Url,
    /// Signs session fingerprints and tokens (`APP_SECRET`, 32+ characters).
    pub app_secret: SecretString,
    pub redis: RedisSettings,
    pub ttl: Ttls,
    pub limits: Limits,
    pub mail: MailSettings,
    pub sms: SmsSettings,
    /// Where uploaded objects live (`OBJECT_STORE_URL` and the `AWS_*` variables).
    pub object_store: ObjectStoreSettings,
    pub uploads: UploadSettings,
    pub payments: PaymentSettings,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` is believed
    /// (`TRUSTED_PROXIES`, comma-separated CIDRs or addresses; default none).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Addresses made admin when they log in (`ADMIN_EMAILS`, comma separated).
    pub admin_emails: Vec<Email>,
    /// `ERROR_INGEST_TOKEN`: other services' bearer for `POST /api/errors`;
    /// unset, the endpoint is off.
    pub error_ingest_token: Option<SecretString>,
    /// `KEY_CENSUS_INTERVAL` (300 s): how often the monitoring panel's key
    /// counts are taken.
    pub key_census_interval: u64,
    /// `SESSION_RENEW_AFTER` (3600 s): an active session's TTL and cookie
    /// are renewed at most this often (a write, so not on every request).
    pub session_renew_after: u64,
}

#[derive(Clone)]
pub struct RedisSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub db: u8,
    pub ssl: bool,
    /// `REDIS_URL`, when set, replaces all of the above.
    pub url: Option<SecretString>,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("db", &self.db)
            .field("ssl", &self.ssl)
            .field("url", &self.url.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl RedisSettings {
    /// The connection URL (`redis://` or `rediss://`), credentials included.
    pub fn connection_url(&self) -> SecretString {
        if let Some(url) = &self.url {
            return url.clone();
        }
        let scheme = if self.ssl { "rediss" } else { "redis" };
        let mut url = match Url::parse(&format!("{scheme}://{}:{}/{}", self.host, self.port, self.db)) {
            Ok(url) => url,
            // The host was checked when the settings were read.
            Err(_) => return SecretString::from(format!("{scheme}://127.0.0.1:{}/{}", self.port, self.db)),
        };
        if let Some(user) = &self.username {
            let _ = url.set_username(user);
        }
        if let Some(password) = &self.password {
            let _ = url.set_password(Some(password.expose_secret()));
        }
        SecretString::from(url.to_string())
    }

    /// Where Redis is, without credentials, for log lines.
    pub fn display_target(&self) -> String {
        match &self.url {
            Some(url) => Url::parse(url.expose_secret())
                .map(|u| {
                    format!("{}://{}:{}{}", u.scheme(), u.host_str().unwrap_or("?"), u.port().unwrap_or(6379), u.path())
                })
                .unwrap_or_else(|_| "REDIS_URL".to_owned()),
            None => format!("{}:{}/{}", self.host, self.port, self.db),
        }
    }
}

/// Lifetimes of Redis entries, in seconds.
#[derive(Debug, Clone)]
pub struct Ttls {
    pub user_cache: u64,
    pub error: u64,
    pub error_index: u64,
    pub verification: u64,
    pub user_candidate: u64,
}

/// Throttles and attempt limits.
#[derive(Debug, Clone)]
pub struct Limits {
    pub username_status_max: u64,
    pub username_status_window: u64,
    pub code_attempts: u32,
    /// Wrong guesses per purpose and email in a day, across codes.
    pub code_daily_failures: u32,
    /// Wrong guesses per purpose, email and client in 15 minutes.
    pub code_client_failures: u32,
    /// Wrong guesses per client in 15 minutes, whatever the address.
    pub code_ip_failures: u32,
    pub code_sends: u32,
    /// Codes (registrations, resets) a client IP may request per window.
    pub code_requests_per_ip: u64,
    pub resend_cooldown: u64,
    /// Failed logins per account and client, then per account from everyone.
    pub login_fail_per_account: u64,
    pub login_fail_per_account_all: u64,
    pub login_fail_per_ip: u64,
    pub login_fail_window: u64,
    pub sms: SmsLimits,
}

/// Caps on text messages, so nobody can pump SMS (and the bill) through
/// Keyhold: per number whatever the email, for all numbers together, and
/// to the countries allowed.
#[derive(Debug, Clone)]
pub struct SmsLimits {
    /// `SMS_LIMIT_NUMBER_HOUR` (5) and `SMS_LIMIT_NUMBER_DAY` (10).
    pub per_number_hour: u64,
    pub per_number_day: u64,
    /// `SMS_HOURLY_LIMIT` (1000): every number together.
    pub per_hour: u64,
    /// `SMS_ALLOWED_COUNTRIES`: calling codes (`1,44,55`); empty = all.
    pub countries: Vec<String>,
}

impl SmsLimits {
    /// Whether a number may be texted: with a country list, only numbers in
    /// international form (`+…`) whose calling code is listed.
    pub fn allows(&self, phone: &crate::domain::Phone) -> bool {
        self.countries.is_empty()
            || phone
                .as_str()
                .strip_prefix('+')
                .is_some_and(|n| self.countries.iter().any(|c| n.starts_with(c.as_str())))
    }
}

#[derive(Clone)]
pub struct MailSettings {
    /// `SMTP_URL` (`smtp://`, `smtps://`, `?tls=required` for STARTTLS); unset
    /// means messages go to the outbox directory.
    pub smtp_url: Option<SecretString>,
    /// `EMAIL_FROM`, e.g. `Keyhold <no-reply@example.com>`.
    pub from: String,
    /// `OUTBOX_DIR`: `.eml` files for email, `.txt` files for SMS.
    pub outbox_dir: PathBuf,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from)
            .field("outbox_dir", &self.outbox_dir)
            .finish()
    }
}

#[derive(Clone)]
pub enum SmsSettings {
    /// Text files in the outbox directory.
    Outbox,
    /// An HTTP provider speaking the Twilio Messages API.
    Twilio { api_url: Url, account_sid: String, auth_token: SecretString, from: String },
}

impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmsSettings::Outbox => f.write_str("Outbox"),
            SmsSettings::Twilio { api_url, account_sid, from, .. } => f
                .debug_struct("Twilio")
                .field("api_url", &api_url.as_str())
                .field("account_sid", account_sid)
                .field("auth_token", &"[redacted]")
                .field("from", from)
                .finish(),
        }
    }
}

/// Where uploaded files are kept.
#[derive(Clone)]
pub enum ObjectStoreSettings {
    /// A directory on this machine (`OBJECT_STORE_URL=./data/objects`, a
    /// path or a `file://` URL).
    Local { root: PathBuf },
    /// Any S3-compatible service (`OBJECT_STORE_URL=s3://bucket`).
    S3 {
        bucket: String,
        /// `AWS_ENDPOINT` (or `AWS_ENDPOINT_URL`): unset means AWS itself.
        endpoint: Option<Url>,
        region: String,
        access_key_id: Option<String>,
        secret_access_key: Option<SecretString>,
        session_token: Option<SecretString>,
    },
}

impl std::fmt::Debug for ObjectStoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectStoreSettings::Local { root } => f.debug_struct("Local").field("root", root).finish(),
            ObjectStoreSettings::S3 { bucket, endpoint, region, access_key_id, .. } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("endpoint", &endpoint.as_ref().map(Url::as_str))
                .field("region", region)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"[redacted]")
                .finish(),
        }
    }
}

impl ObjectStoreSettings {
    /// The S3 endpoint browsers talk to directly (uploads, picture
    /// redirects), for the pages' CSP; `None` for the local store.
    pub fn browser_origin(&self) -> Option<String> {
        match self {
            ObjectStoreSettings::S3 { endpoint: Some(url), .. } => Some(url.origin().ascii_serialization()),
            // Path-style URLs, object_store's default.
            ObjectStoreSettings::S3 { region, .. } => Some(format!("https://s3.{region}.amazonaws.com")),
            ObjectStoreSettings::Local { .. } => None,
        }
    }

    fn parse(url: &str, vars: &Vars<'_, impl Fn(&str) -> Option<String>>) -> Result<Self, ConfigError> {
        const VAR: &str = "OBJECT_STORE_URL";
        if let Some(bucket) = url.strip_prefix("s3://") {
            let bucket = bucket.trim_end_matches('/');
            let valid = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
            if !valid {
                return Err(invalid(VAR, format!("has {bucket:?}, which is no S3 bucket name")));
            }
            let endpoint = match vars.get("AWS_ENDPOINT").or_else(|| vars.get("AWS_ENDPOINT_URL")) {
                Some(e) if !e.is_empty() => Some(
                    Url::parse(&e)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or_else(|| invalid("AWS_ENDPOINT", "must be an http(s) URL"))?,
                ),
                _ => None,
            };
            return Ok(ObjectStoreSettings::S3 {
                bucket: bucket.to_owned(),
                endpoint,
                region: vars.get("AWS_REGION").filter(|r| !r.is_empty()).unwrap_or_else(|| "us-east-1".to_owned()),
                access_key_id: vars.get("AWS_ACCESS_KEY_ID").filter(|s| !s.is_empty()),
                secret_access_key: vars.get("AWS_SECRET_ACCESS_KEY").filter(|s| !s.is_empty()).map(SecretString::from),
                session_token: vars.get("AWS_SESSION_TOKEN").filter(|s| !s.is_empty()).map(SecretString::from),
            });
        }
        let root = match url.split_once("://") {
            None => PathBuf::from(url),
            Some(("file", _)) => Url::parse(url)
                .ok()
                .and_then(|u| u.to_file_path().ok())
                .ok_or_else(|| invalid(VAR, "must be a file:// URL with an absolute path"))?,
            Some((scheme, _)) => {
                return Err(invalid(VAR, format!("has the scheme {scheme:?}: use a directory, file:// or s3://")));
            }
        };
        if root.as_os_str().is_empty() {
            return Err(invalid(VAR, "is empty"));
        }
        Ok(ObjectStoreSettings::Local { root })
    }
}

/// Limits on uploads and the cleanup of abandoned ones.
#[derive(Debug, Clone)]
pub struct UploadSettings {
    /// `UPLOAD_MAX_BYTES` (10 MiB): one file.
    pub max_bytes: u64,
    /// `UPLOAD_QUOTA_BYTES` (100 MiB): all of a user's files, open uploads included.
    pub quota_bytes: u64,
    /// `UPLOAD_MAX_OPEN` (10): upload requests a user may have open at once.
    pub max_open: u64,
    /// `UPLOAD_MAX_FILES` (1000): files a user may keep, open uploads included.
    pub max_files: u64,
    /// `PROFILE_PICTURE_MAX_BYTES` (2 MiB).
    pub picture_max_bytes: u64,
    /// `UPLOAD_URL_TTL` (900 s): how long an upload URL works.
    pub url_ttl: u64,
    /// `UPLOAD_REQUEST_MAX_AGE` (3600 s): older requests are abandoned.
    pub request_max_age: u64,
    /// `UPLOAD_CLEANUP_INTERVAL` (3600 s): how often the cleanup runs.
    pub cleanup_interval: u64,
}

/// Payments: currencies, the provider, webhooks and refunds.
#[derive(Clone)]
pub struct PaymentSettings {
    /// `PAYMENT_CURRENCIES` (`USD,EUR,BRL`): the first is the default.
    pub currencies: Vec<crate::domain::Currency>,
    pub provider: PaymentProvider,
    /// `PAYMENT_WEBHOOK_SECRET`: signs the provider's webhooks; unset, the
    /// webhook endpoint refuses everything.
    pub webhook_secret: Option<SecretString>,
    /// `PAYMENT_REFUND_WINDOW` (14 days, in seconds).
    pub refund_window: u64,
    /// `SANDBOX_SETTLE_DELAY` (5 s): when the sandbox settles a delayed payment.
    pub sandbox_settle_delay: u64,
}

#[derive(Clone)]
pub enum PaymentProvider {
    /// Settles at once; test card numbers simulate a decline or a delay.
    Sandbox,
    /// Stripe PaymentIntents over HTTP.
    Stripe { api_url: Url, secret_key: SecretString },
}

impl std::fmt::Debug for PaymentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let provider = match &self.provider {
            PaymentProvider::Sandbox => "sandbox".to_owned(),
            PaymentProvider::Stripe { api_url, .. } => format!("stripe at {api_url} (key redacted)"),
        };
        f.debug_struct("PaymentSettings")
            .field("currencies", &self.currencies)
            .field("provider", &provider)
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "[redacted]"))
            .field("refund_window", &self.refund_window)
            .finish()
    }
}

/// Only used when `APP_ENV=development` and no `APP_SECRET` is set.
const DEVELOPMENT_SECRET: &str = "keyhold-development-secret-not-for-production-use";

impl Settings {
    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            return Err(invalid(".env", format!("could not be read: {err}")));
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any source of variables (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let env = match vars.get("APP_ENV").as_deref() {
            None | Some("production") => AppEnv::Production,
            Some("development") => AppEnv::Development,
            Some(_) => return Err(invalid("APP_ENV", "must be `development` or `production`")),
        };
        let app_secret = match (vars.get("APP_SECRET"), env) {
            (Some(s), _) if s.chars().count() >= 32 => SecretString::from(s),
            (Some(_), _) => return Err(invalid("APP_SECRET", "must be at least 32 characters")),
            (None, AppEnv::Development) => SecretString::from(DEVELOPMENT_SECRET),
            (None, AppEnv::Production) => {
                return Err(invalid("APP_SECRET", "is required when APP_ENV=production"));
            }
        };
        let app_url = vars.parse_with("APP_URL", "http://127.0.0.1:3000", |s| {
            Url::parse(s).map_err(|e| e.to_string()).and_then(|u| match u.scheme() {
                "http" | "https" => Ok(u),
                _ => Err("must be an http(s) URL".to_owned()),
            })
        })?;
        let service_name = vars.get("SERVICE_NAME").unwrap_or_else(|| "keyhold".to_owned());
        if service_name.is_empty() || !service_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(invalid("SERVICE_NAME", "may only hold letters, digits, '-' and '_'"));
        }

        let redis = RedisSettings {
            host: vars.parse_with("REDIS_HOST", "127.0.0.1", |s| {
                Url::parse(&format!("redis://{s}/")).map(|_| s.to_owned()).map_err(|e| e.to_string())
            })?,
            port: vars.parse("REDIS_PORT", 6379)?,
            username: vars.get("REDIS_USERNAME").filter(|s| !s.is_empty()),
            password: vars.get("REDIS_PASSWORD").filter(|s| !s.is_empty()).map(SecretString::from),
            db: vars.parse("REDIS_DB", 0)?,
            ssl: vars.parse_bool("REDIS_SSL", false)?,
            url: match vars.get("REDIS_URL").filter(|s| !s.is_empty()) {
                Some(u) => match Url::parse(&u) {
                    Ok(parsed) if matches!(parsed.scheme(), "redis" | "rediss") => Some(SecretString::from(u)),
                    _ => return Err(invalid("REDIS_URL", "must be a redis:// or rediss:// URL")),
                },
                None => None,
            },
        };

        let ttl = Ttls {
            user_cache: vars.parse_positive("REDIS_CACHE_TTL", keys::USER_CACHE_TTL)?,
            error: vars.parse_positive("REDIS_ERROR_TTL", keys::ERROR_TTL)?,
            error_index: vars.parse_positive("REDIS_ERROR_INDEX_TTL", keys::ERROR_INDEX_TTL)?,
            verification: vars.parse_positive("VERIFICATION_TTL", keys::VERIFICATION_TTL)?,
            user_candidate: vars.parse_positive("USER_CANDIDATE_TTL", keys::USER_CANDIDATE_TTL)?,
        };
        let limits = Limits {
            username_status_max: vars.parse_positive("USERNAME_STATUS_LIMIT", 20)?,
            username_status_window: vars.parse_positive("USERNAME_STATUS_WINDOW", keys::USERNAME_STATUS_WINDOW)?,
            code_attempts: vars.parse_positive("CODE_MAX_ATTEMPTS", 5)?,
            code_daily_failures: vars.parse_positive("CODE_MAX_DAILY_FAILURES", 100)?,
            code_client_failures: vars.parse_positive("CODE_MAX_CLIENT_FAILURES", 15)?,
            code_ip_failures: vars.parse_positive("CODE_MAX_IP_FAILURES", 30)?,
            code_sends: vars.parse_positive("CODE_MAX_SENDS", 5)?,
            code_requests_per_ip: vars.parse_positive("CODE_REQUEST_LIMIT_IP", 30)?,
            resend_cooldown: vars.parse("CODE_RESEND_COOLDOWN", 60)?,
            login_fail_per_account: vars.parse_positive("LOGIN_FAIL_LIMIT_ACCOUNT", 5)?,
            login_fail_per_account_all: vars.parse_positive("LOGIN_FAIL_LIMIT_ACCOUNT_ALL", 20)?,
            login_fail_per_ip: vars.parse_positive("LOGIN_FAIL_LIMIT_IP", 50)?,
            login_fail_window: vars.parse_positive("LOGIN_FAIL_WINDOW", keys::LOGIN_FAIL_TTL)?,
            sms: SmsLimits {
                per_number_hour: vars.parse_positive("SMS_LIMIT_NUMBER_HOUR", 5)?,
                per_number_day: vars.parse_positive("SMS_LIMIT_NUMBER_DAY", 10)?,
                per_hour: vars.parse_positive("SMS_HOURLY_LIMIT", 1_000)?,
                countries: match vars.get("SMS_ALLOWED_COUNTRIES") {
                    Some(list) => list
                        .split(',')
                        .map(|c| c.trim().trim_start_matches('+'))
                        .filter(|c| !c.is_empty())
                        .map(|c| match c.len() <= 3 && c.bytes().all(|b| b.is_ascii_digit()) {
                            true => Ok(c.to_owned()),
                            false => {
                                Err(invalid("SMS_ALLOWED_COUNTRIES", format!("has {c:?}, which is no calling code")))
                            }
                        })
                        .collect::<Result<_, _>>()?,
                    None => Vec::new(),
                },
            },
        };

        let mail = MailSettings {
            smtp_url: match vars.get("SMTP_URL").filter(|s| !s.is_empty()) {
                Some(u) => match Url::parse(&u) {
                    Ok(parsed) if matches!(parsed.scheme(), "smtp" | "smtps") => Some(SecretString::from(u)),
                    _ => return Err(invalid("SMTP_URL", "must be an smtp:// or smtps:// URL")),
                },
                None => None,
            },
            from: vars.parse_with("EMAIL_FROM", "Keyhold <no-reply@keyhold.localhost>", |s| {
                s.parse::<lettre::message::Mailbox>().map(|_| s.to_owned()).map_err(|e| e.to_string())
            })?,
            outbox_dir: PathBuf::from(vars.get("OUTBOX_DIR").unwrap_or_else(|| "./data/outbox".to_owned())),
        };

        let sms = match vars.get("SMS_PROVIDER").as_deref() {
            None | Some("outbox") => SmsSettings::Outbox,
            Some("twilio") => SmsSettings::Twilio {
                api_url: vars.parse_with("TWILIO_API_URL", "https://api.twilio.com", |s| {
                    Url::parse(s).map_err(|e| e.to_string())
                })?,
                account_sid: vars.require("TWILIO_ACCOUNT_SID")?,
                auth_token: SecretString::from(vars.require("TWILIO_AUTH_TOKEN")?),
                from: vars.require("SMS_FROM")?,
            },
            Some(_) => return Err(invalid("SMS_PROVIDER", "must be `outbox` or `twilio`")),
        };

        let trusted_proxies = match vars.get("TRUSTED_PROXIES") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<ipnet::IpNet>()
                        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| invalid("TRUSTED_PROXIES", format!("has {s:?}, which is no address or CIDR")))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let object_store = ObjectStoreSettings::parse(
            &vars.get("OBJECT_STORE_URL").filter(|s| !s.is_empty()).unwrap_or_else(|| "./data/objects".to_owned()),
            &vars,
        )?;
        let uploads = UploadSettings {
            max_bytes: vars.parse_positive("UPLOAD_MAX_BYTES", 10 << 20)?,
            quota_bytes: vars.parse_positive("UPLOAD_QUOTA_BYTES", 100 << 20)?,
            max_open: vars.parse_positive("UPLOAD_MAX_OPEN", 10)?,
            max_files: vars.parse_positive("UPLOAD_MAX_FILES", 1_000)?,
            picture_max_bytes: vars.parse_positive("PROFILE_PICTURE_MAX_BYTES", 2 << 20)?,
            url_ttl: vars.parse_positive("UPLOAD_URL_TTL", 900)?,
            request_max_age: vars.parse_positive("UPLOAD_REQUEST_MAX_AGE", 3_600)?,
            cleanup_interval: vars.parse_positive("UPLOAD_CLEANUP_INTERVAL", 3_600)?,
        };
        let payments = PaymentSettings {
            currencies: vars
                .get("PAYMENT_CURRENCIES")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "USD,EUR,BRL".to_owned())
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    crate::domain::Currency::parse(c)
                        .map_err(|_| invalid("PAYMENT_CURRENCIES", format!("has {c:?}, which is no currency code")))
                })
                .collect::<Result<_, _>>()?,
            provider: match vars.get("PAYMENT_PROVIDER").as_deref() {
                None | Some("") | Some("sandbox") => PaymentProvider::Sandbox,
                Some("stripe") => PaymentProvider::Stripe {
                    api_url: vars.parse_with("STRIPE_API_URL", "https://api.stripe.com", |s| {
                        Url::parse(s).map_err(|e| e.to_string())
                    })?,
                    secret_key: SecretString::from(vars.require("STRIPE_SECRET_KEY")?),
                },
                Some(_) => return Err(invalid("PAYMENT_PROVIDER", "must be `sandbox` or `stripe`")),
            },
            webhook_secret: vars.get("PAYMENT_WEBHOOK_SECRET").filter(|s| !s.is_empty()).map(SecretString::from),
            refund_window: vars.parse_positive("PAYMENT_REFUND_WINDOW", 14 * 86_400)?,
            sandbox_settle_delay: vars.parse("SANDBOX_SETTLE_DELAY", 5)?,
        };
        if payments.currencies.is_empty() {
            return Err(invalid("PAYMENT_CURRENCIES", "must name at least one currency"));
        }
        if uploads.url_ttl >= uploads.request_max_age {
            return Err(invalid("UPLOAD_URL_TTL", "must be shorter than UPLOAD_REQUEST_MAX_AGE"));
        }
        let admin_emails = match vars.get("ADMIN_EMAILS") {
            Some(list) => list
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| Email::parse(s).map_err(|e| invalid("ADMIN_EMAILS", format!("has {s:?}: {e}"))))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };

        Ok(Self {
            env,
            service_name,
            app_url,
            app_secret,
            redis,
            ttl,
            limits,
            mail,
            sms,
            object_store,
            uploads,
            payments,
            trusted_proxies,
            admin_emails,
            key_census_interval: vars.parse_positive("KEY_CENSUS_INTERVAL", 300)?,
            session_renew_after: vars.parse_positive("SESSION_RENEW_AFTER", 3600)?,
            error_ingest_token: match vars.get("ERROR_INGEST_TOKEN").filter(|t| !t.is_empty()) {
                Some(t) if t.len() >= 24 => Some(SecretString::from(t)),
                Some(_) => return Err(invalid("ERROR_INGEST_TOKEN", "must be at least 24 characters")),
                None => None,
            },
        })
    }

    pub fn is_development(&self) -> bool {
        self.env == AppEnv::Development
    }

    pub fn resend_cooldown(&self) -> Duration {
        Duration::from_secs(self.limits.resend_cooldown)
    }
}

/// Helpers that read one variable and name it in any error.
struct Vars<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Vars<'_, F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|s| s.trim().to_owned())
    }

    fn require(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).filter(|s| !s.is_empty()).ok_or_else(|| invalid(name, "is required"))
    }

    fn parse<T: std::str::FromStr>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name).filter(|s| !s.is_empty()) {
            Some(s) => s.parse().map_err(|e| invalid(name, format!("is not valid ({s:?}): {e}"))),
            None => Ok(default),
        }
    }

    fn parse_positive<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + From<u8>,
        T::Err: std::fmt::Display,
    {
        let value = self.parse(name, default)?;
        if value < T::from(1) {
            return Err(invalid(name, "must be at least 1"));
        }
        Ok(value)
    }

    fn parse_bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|s| s.to_ascii_lowercase()).as_deref() {
            None | Some("") => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(invalid(name, format!("must be true or false, not {other:?}"))),
        }
    }

    fn parse_with<T>(
        &self,
        name: &'static str,
        default: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let raw = self.get(name).filter(|s| !s.is_empty()).unwrap_or_else(|| default.to_owned());
        f(&raw).map_err(|e| invalid(name, format!("is not valid: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    const DEV: (&str, &str) = ("APP_ENV", "development");

    #[test]
    fn defaults_are_sensible_in_development() {
        let s = settings(&[DEV]).unwrap();
        assert_eq!(s.redis.connection_url().expose_secret(), "redis://127.0.0.1:6379/0");
        assert_eq!(s.ttl.user_cache, 3600);
        assert_eq!(s.ttl.error, 604_800);
        assert_eq!(s.ttl.error_index, 2_592_000);
        assert_eq!(s.service_name, "keyhold");
        assert!(matches!(s.sms, SmsSettings::Outbox));
        assert!(s.mail.smtp_url.is_none());
        assert!(s.trusted_proxies.is_empty(), "no forwarded header is believed by default");
    }

    #[test]
    fn sms_countries_are_calling_codes() {
        let s = settings(&[DEV, ("SMS_ALLOWED_COUNTRIES", "+55, 1")]).unwrap();
        let phone = |p: &str| crate::domain::Phone::parse(p).unwrap();
        assert!(s.limits.sms.allows(&phone("+5511987654321")));
        assert!(s.limits.sms.allows(&phone("+1 555 000 2222")));
        assert!(!s.limits.sms.allows(&phone("+44 20 7946 0000")));
        assert!(!s.limits.sms.allows(&phone("11987654321")), "no calling code, no text");
        assert!(settings(&[DEV]).unwrap().limits.sms.allows(&phone("11987654321")), "all by default");
    }

    #[test]
    fn trusted_proxies_take_cidrs_and_addresses() {
        let s = settings(&[DEV, ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]).unwrap();
        let shown: Vec<String> = s.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
    }

    #[test]
    fn object_store_urls() {
        let s = settings(&[DEV]).unwrap();
        assert!(
            matches!(&s.object_store, ObjectStoreSettings::Local { root } if root == &PathBuf::from("./data/objects"))
        );
        let s = settings(&[DEV, ("OBJECT_STORE_URL", "file:///srv/objects")]).unwrap();
        assert!(
            matches!(&s.object_store, ObjectStoreSettings::Local { root } if root == &PathBuf::from("/srv/objects"))
        );
        let s = settings(&[
            DEV,
            ("OBJECT_STORE_URL", "s3://keyhold-files"),
            ("AWS_ENDPOINT", "http://127.0.0.1:9000"),
            ("AWS_SECRET_ACCESS_KEY", "hidden-value"),
        ])
        .unwrap();
        assert!(matches!(&s.object_store, ObjectStoreSettings::S3 { bucket, region, .. }
            if bucket == "keyhold-files" && region == "us-east-1"));
        assert!(!format!("{:?}", s.object_store).contains("hidden-value"));
        for bad in ["gs://bucket", "s3://", "s3://Bad_Bucket", "file://relative"] {
            let err = settings(&[DEV, ("OBJECT_STORE_URL", bad)]).unwrap_err();
            assert_eq!(err.var, "OBJECT_STORE_URL", "{bad}");
        }
        let err = settings(&[DEV, ("OBJECT_STORE_URL", "s3://b-1"), ("AWS_ENDPOINT", "ftp://x")]).unwrap_err();
        assert_eq!(err.var, "AWS_ENDPOINT");
    }

    #[test]
    fn production_requires_a_secret() {
        let err = settings(&[]).unwrap_err();
        assert_eq!(err.var, "APP_SECRET");
        let err = settings(&[("APP_SECRET", "short")]).unwrap_err();
        assert_eq!(err.var, "APP_SECRET");
        assert!(settings(&[("APP_SECRET", &"s".repeat(32))]).is_ok());
    }

    #[test]
    fn seed_variables_build_the_url() {
        let s = settings(&[
            DEV,
            ("REDIS_HOST", "cache.internal"),
            ("REDIS_PORT", "6380"),
            ("REDIS_USERNAME", "app"),
            ("REDIS_PASSWORD", "p@ss/word"),
            ("REDIS_DB", "3"),
            ("REDIS_SSL", "true"),
        ])
        .unwrap();
        assert_eq!(s.redis.connection_url().expose_secret(), "rediss://app:p%40ss%2Fword@cache.internal:6380/3");
        assert_eq!(s.redis.display_target(), "cache.internal:6380/3");
    }

    #[test]
    fn redis_url_overrides_the_parts() {
        let s = settings(&[DEV, ("REDIS_HOST", "ignored"), ("REDIS_URL", "redis://:pw@10.0.0.5:7000/2")]).unwrap();
        assert_eq!(s.redis.connection_url().expose_secret(), "redis://:pw@10.0.0.5:7000/2");
        assert_eq!(s.redis.display_target(), "redis://10.0.0.5:7000/2");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("REDIS_PORT", "sixty"),
            ("REDIS_DB", "300"),
            ("REDIS_SSL", "maybe"),
            ("REDIS_CACHE_TTL", "0"),
            ("REDIS_ERROR_TTL", "-5"),
            ("REDIS_URL", "http://x"),
            ("SMTP_URL", "ftp://x"),
            ("APP_URL", "not a url"),
            ("APP_ENV", "staging"),
            ("ADMIN_EMAILS", "ok@example.com,nope"),
            ("SMS_PROVIDER", "pigeon"),
            ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal"),
            ("SMS_ALLOWED_COUNTRIES", "55,uk"),
            ("SMS_HOURLY_LIMIT", "0"),
        ] {
            let err = settings(&[DEV, (var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{var}={value}");
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn twilio_needs_credentials() {
        let err = settings(&[DEV, ("SMS_PROVIDER", "twilio")]).unwrap_err();
        assert_eq!(err.var, "TWILIO_ACCOUNT_SID");
    }

    #[test]
    fn debug_output_has_no_secrets() {
        let s = settings(&[
            ("APP_SECRET", "super-secret-value-that-is-long-enough"),
            ("REDIS_PASSWORD", "hunter2-redis"),
            ("REDIS_URL", "redis://:hunter3@h:1/0"),
            ("SMTP_URL", "smtp://u:hunter4@mail:25"),
            ("SMS_PROVIDER", "twilio"),
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", "hunter5"),
            ("SMS_FROM", "+15550000"),
        ])
        .unwrap();
        let printed = format!("{s:?}");
        for secret in ["super-secret", "hunter2", "hunter3", "hunter4", "hunter5"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
    }
}
