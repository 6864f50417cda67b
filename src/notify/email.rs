use super::{DeliveryError, EmailMessage};
use crate::config::MailSettings;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::PathBuf;

/// SMTP when `SMTP_URL` is set, otherwise `.eml` files in the outbox.
pub enum EmailChannel {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
    Outbox { transport: AsyncFileTransport<Tokio1Executor>, dir: PathBuf, from: Mailbox },
}

fn email_error(e: impl std::error::Error + Send + Sync + 'static) -> DeliveryError {
    DeliveryError::Email(Box::new(e))
}

impl EmailChannel {
    pub fn from_settings(mail: &MailSettings) -> Result<Self, DeliveryError> {
        let from: Mailbox = mail.from.parse().map_err(email_error)?;
        Ok(match &mail.smtp_url {
            // smtp://user:pass@host:587?tls=required for STARTTLS, smtps:// for implicit TLS.
            Some(url) => Self::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(email_error)?
                    .timeout(Some(std::time::Duration::from_secs(10)))
                    .build(),
                from,
            },
            None => Self::Outbox {
                transport: AsyncFileTransport::<Tokio1Executor>::new(&mail.outbox_dir),
                dir: mail.outbox_dir.clone(),
                from,
            },
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Smtp { .. } => "SMTP".to_owned(),
            Self::Outbox { dir, .. } => format!("outbox {}", dir.display()),
        }
    }

    pub async fn send(&self, m: EmailMessage) -> Result<(), DeliveryError> {
        let (Self::Smtp { from, .. } | Self::Outbox { from, .. }) = self;
        let to: Mailbox = m.to.parse().map_err(email_error)?;
        let message = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(m.subject)
            .multipart(MultiPart::alternative_plain_html(m.text, m.html))
            .map_err(email_error)?;
        match self {
            Self::Smtp { transport, .. } => transport.send(message).await.map(drop).map_err(email_error),
            Self::Outbox { transport, dir, .. } => {
                tokio::fs::create_dir_all(dir).await.map_err(email_error)?;
                transport.send(message).await.map(drop).map_err(email_error)
            }
        }
    }
}
