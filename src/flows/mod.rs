//! The account flows, independent of HTTP: parse input, talk to the stores,
//! send messages. Server functions and the JSON API both call these.

pub mod admin;
pub mod codes;
pub mod errors;
pub mod login;
pub mod monitor;
pub mod password;
pub mod payments;
pub mod profile;
pub mod registration;
pub mod tokens;
pub mod uploads;
pub mod username;

use crate::config::Settings;
use crate::connections::{self, RedisHealth};
use crate::domain::ParseError;
use crate::error_sink::ErrorSink;
use crate::jwt::{TokenError, TokenKeys};
use crate::notify::{Channels, DeliveryError, Notifier};
use crate::objects::{ObjectError, Objects};
use crate::passwords::HashError;
use crate::store::StoreError;
use crate::store::error_log::ErrorRecorder;
use crate::store::profile_cache::CacheStats;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

/// Everything a flow needs, behind one `Arc`: pages and server functions
/// take a clone per request, which is then one reference count rather than
/// one per service (`CoreParts`' fields read through it).
#[derive(Clone)]
pub struct Core(Arc<CoreParts>);

impl std::ops::Deref for Core {
    type Target = CoreParts;

    fn deref(&self) -> &CoreParts {
        &self.0
    }
}

/// The services a [`Core`] shares.
pub struct CoreParts {
    pub settings: Arc<Settings>,
    pub redis: ConnectionManager,
    pub health: RedisHealth,
    pub errors: ErrorRecorder,
    /// The error log's writer, off the request path.
    pub error_sink: ErrorSink,
    /// Work that outlives its request (mail sent in the background);
    /// [`Core::shutdown`] waits for it.
    pub tasks: TaskTracker,
    pub notifier: Arc<dyn Notifier>,
    pub cache_stats: Arc<CacheStats>,
    pub tokens: Arc<TokenKeys>,
    pub objects: Objects,
    pub payments: Arc<dyn crate::provider::Provider>,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Connect(#[from] connections::ConnectError),
    #[error("could not set up message delivery")]
    Delivery(#[from] DeliveryError),
    #[error("configuration: OBJECT_STORE_URL cannot be used")]
    Objects(#[from] ObjectError),
}

impl Core {
    pub fn new(settings: Settings) -> Result<Self, CoreError> {
        let redis = connections::data_connection(&settings.redis)?;
        let notifier: Arc<dyn Notifier> = Arc::new(Channels::from_settings(&settings)?);
        let errors =
            ErrorRecorder::new(redis.clone(), &settings.service_name, settings.ttl.error, settings.ttl.error_index);
        let tokens = Arc::new(TokenKeys::from_secret(&settings.app_secret));
        let objects = Objects::connect(&settings.object_store)?;
        let payments = crate::provider::from_settings(&settings);
        let tasks = TaskTracker::new();
        let error_sink = ErrorSink::spawn(errors.clone(), redis.clone());
        Ok(Self(Arc::new(CoreParts {
            settings: Arc::new(settings),
            redis,
            health: RedisHealth::default(),
            errors,
            error_sink,
            tasks,
            notifier,
            cache_stats: Arc::default(),
            tokens,
            objects,
            payments,
        })))
    }
}

impl Core {
    /// Waits for background work (mail, the error log) to finish; called
    /// once the server stopped taking requests.
    pub async fn shutdown(&self) {
        self.tasks.close();
        // Background mail may still record errors: wait for it first.
        self.tasks.wait().await;
        self.error_sink.flush().await;
    }
}

/// One message per field that failed to parse, in form order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, error: impl ToString) {
        if !self.0.iter().any(|(f, _)| *f == field) {
            self.0.push((field, error.to_string()));
        }
    }

    /// Keeps the value when it parsed, records the error otherwise.
    pub fn check<T>(&mut self, field: &'static str, parsed: Result<T, ParseError>) -> Option<T> {
        parsed.map_err(|e| self.add(field, e)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn single(field: &'static str, error: impl ToString) -> Self {
        let mut errors = Self::default();
        errors.add(field, error);
        errors
    }

    pub fn into_result(self) -> Result<(), FlowError> {
        if self.is_empty() { Ok(()) } else { Err(FlowError::Invalid(self)) }
    }
}

/// Why a request did not succeed: every failure kind Keyhold knows, raised by
/// the flows and by the HTTP layer around them. What a client is told about
/// each (status, stable code, message) and whether the error log keeps it is
/// decided in one place, `keyhold_app::ssr::failure::classify`.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("invalid input in {}", .0.0.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", "))]
    Invalid(FieldErrors),
    #[error("wrong verification code")]
    WrongCode { attempts_left: u32 },
    #[error("verification code used up by wrong attempts")]
    CodeExhausted,
    #[error("verification code expired or never issued")]
    CodeExpired,
    #[error("an emailed link expired, was used, or never existed")]
    LinkExpired,
    #[error("the signed-in account no longer exists")]
    AccountGone,
    /// The live registration for this address was started by another
    /// browser (perhaps someone else's attempt): this session cannot finish it.
    #[error("the registration belongs to another attempt")]
    OtherAttempt,
    #[error("an account with this email or username already exists")]
    AccountExists,
    #[error("too many requests")]
    Throttled { retry_after: u64 },
    /// A text-message cap (per number, per hour, per country) was reached.
    #[error("text message refused: {reason}")]
    SmsLimit { reason: &'static str, retry_after: u64 },
    /// A rotated refresh token came back: someone holds a copy.
    #[error("a refresh token was presented twice; its family is revoked")]
    TokenReused,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("not signed in")]
    NotSignedIn,
    #[error("a state-changing request came from another site")]
    CrossOrigin,
    #[error("message delivery failed")]
    DeliveryFailed(#[source] DeliveryError),
    #[error("token refused: {0}")]
    Token(#[from] TokenError),
    #[error("redis is unavailable")]
    Unavailable(#[source] StoreError),
    /// Not there, or not the caller's: the same answer, so nobody learns
    /// what others hold.
    #[error("no such resource for this user")]
    NotFound,
    #[error("an admin-only resource was asked for by a non-admin")]
    Forbidden,
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: u64 },
    #[error("the file is larger than the {limit} bytes allowed")]
    TooLarge { limit: u64 },
    #[error("the upload would exceed the quota of {quota} bytes")]
    QuotaExceeded { quota: u64 },
    #[error("too many uploads open (at most {max})")]
    TooManyUploads { max: u64 },
    #[error("too many files (at most {max})")]
    TooManyFiles { max: u64 },
    #[error("the upload's bytes are not in the store yet")]
    UploadIncomplete,
    #[error("the stored object has {actual} bytes, {declared} were declared")]
    SizeMismatch { declared: u64, actual: u64 },
    #[error("the file's content is not an accepted type")]
    UnsupportedType { accepted: &'static str },
    #[error("the upload request expired or was cancelled")]
    UploadExpired,
    #[error("the upload URL is not one Keyhold signed")]
    UploadUrlInvalid,
    #[error("the upload broke off")]
    UploadInterrupted(#[source] ObjectError),
    #[error("object storage failed")]
    Storage(#[source] ObjectError),
    /// A payment broke a rule; `code` names the first one.
    #[error("payment refused: {code}")]
    PaymentRefused { code: &'static str, fields: FieldErrors },
    #[error("an Idempotency-Key header is required")]
    IdempotencyKeyMissing,
    #[error("the idempotency key was used with other parameters")]
    IdempotencyReused,
    #[error("payment action refused: {message}")]
    PaymentConflict { code: &'static str, message: &'static str },
    #[error("the payment provider failed")]
    PaymentProvider,
    #[error("webhook refused: {0}")]
    WebhookRefused(crate::provider::signature::SignatureError),
    #[error("unexpected failure while {context}")]
    Unexpected {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl From<StoreError> for FlowError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            FlowError::Unavailable(err)
        } else {
            FlowError::Unexpected { context: "talking to redis", source: Box::new(err) }
        }
    }
}

impl From<ObjectError> for FlowError {
    fn from(err: ObjectError) -> Self {
        match err {
            ObjectError::TooLarge { limit } => FlowError::TooLarge { limit },
            ObjectError::Interrupted(_) => FlowError::UploadInterrupted(err),
            other => FlowError::Storage(other),
        }
    }
}

impl From<HashError> for FlowError {
    fn from(err: HashError) -> Self {
        FlowError::Unexpected { context: "hashing a password", source: Box::new(err) }
    }
}

impl FlowError {
    /// A failure that cannot be pinned on a cause we hold (a panic, say).
    pub fn unexpected(context: &'static str, message: impl Into<String>) -> Self {
        FlowError::Unexpected { context, source: message.into().into() }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
