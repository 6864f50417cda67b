//! Delivering messages to people: email (SMTP or an outbox directory) and
//! SMS (an outbox directory or a Twilio-compatible HTTP API), behind one
//! [`Notifier`] trait.

mod email;
mod sms;
pub mod templates;

pub use email::EmailChannel;
pub use sms::SmsChannel;

use crate::config::Settings;
use std::future::Future;
use std::pin::Pin;

/// One email, plain text plus HTML.
#[derive(Clone)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// One text message.
#[derive(Clone)]
pub struct SmsMessage {
    pub to: String,
    pub body: String,
}

#[derive(Clone)]
pub enum Message {
    Email(EmailMessage),
    Sms(SmsMessage),
}

// Bodies carry codes and links: never print them.
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Email(m) => write!(f, "Email {{ subject: {:?}, .. }}", m.subject),
            Message::Sms(_) => f.write_str("Sms { .. }"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the email could not be sent")]
    Email(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the text message could not be sent")]
    Sms(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DeliveryError {
    pub fn is_email(&self) -> bool {
        matches!(self, DeliveryError::Email(_))
    }
}

pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Sends messages. One implementation routes to the configured channels;
/// the trait keeps flows independent of how messages travel.
pub trait Notifier: Send + Sync {
    fn send(&self, message: Message) -> DeliveryFuture<'_>;
}

/// The configured email and SMS channels.
pub struct Channels {
    email: EmailChannel,
    sms: SmsChannel,
}

impl Channels {
    pub fn from_settings(settings: &Settings) -> Result<Self, DeliveryError> {
        Ok(Self { email: EmailChannel::from_settings(&settings.mail)?, sms: SmsChannel::from_settings(settings)? })
    }

    /// A one-line description for the start-up log.
    pub fn describe(&self) -> String {
        format!("email via {}, sms via {}", self.email.describe(), self.sms.describe())
    }
}

impl Notifier for Channels {
    fn send(&self, message: Message) -> DeliveryFuture<'_> {
        Box::pin(async move {
            match message {
                Message::Email(m) => self.email.send(m).await,
                Message::Sms(m) => self.sms.send(m).await,
            }
        })
    }
}
