use super::{DeliveryError, SmsMessage};
use crate::config::{Settings, SmsSettings};
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// Text files in the outbox, or a provider speaking the Twilio Messages API.
pub enum SmsChannel {
    Outbox { dir: PathBuf },
    Twilio { client: reqwest::Client, messages_url: Url, account_sid: String, auth_token: SecretString, from: String },
}

fn sms_error(e: impl std::error::Error + Send + Sync + 'static) -> DeliveryError {
    DeliveryError::Sms(Box::new(e))
}

#[derive(Debug, thiserror::Error)]
#[error("the SMS provider answered HTTP {0}")]
struct ProviderStatus(u16);

impl SmsChannel {
    pub fn from_settings(settings: &Settings) -> Result<Self, DeliveryError> {
        Ok(match &settings.sms {
            SmsSettings::Outbox => Self::Outbox { dir: settings.mail.outbox_dir.clone() },
            SmsSettings::Twilio { api_url, account_sid, auth_token, from } => {
                let messages_url =
                    api_url.join(&format!("2010-04-01/Accounts/{account_sid}/Messages.json")).map_err(sms_error)?;
                let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(sms_error)?;
                Self::Twilio {
                    client,
                    messages_url,
                    account_sid: account_sid.clone(),
                    auth_token: auth_token.clone(),
                    from: from.clone(),
                }
            }
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Self::Outbox { dir } => format!("outbox {}", dir.display()),
            Self::Twilio { messages_url, .. } => {
                format!("Twilio API at {}", messages_url.origin().ascii_serialization())
            }
        }
    }

    pub async fn send(&self, m: SmsMessage) -> Result<(), DeliveryError> {
        match self {
            Self::Outbox { dir } => {
                tokio::fs::create_dir_all(dir).await.map_err(sms_error)?;
                let path = dir.join(format!("sms-{}.txt", uuid::Uuid::now_v7()));
                let text = format!("To: {}\n\n{}\n", m.to, m.body);
                tokio::fs::write(path, text).await.map_err(sms_error)
            }
            Self::Twilio { client, messages_url, account_sid, auth_token, from } => {
                let response = client
                    .post(messages_url.clone())
                    .basic_auth(account_sid, Some(auth_token.expose_secret()))
                    .form(&[("To", m.to.as_str()), ("From", from.as_str()), ("Body", m.body.as_str())])
                    .send()
                    .await
                    .map_err(|e| sms_error(e.without_url()))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(sms_error(ProviderStatus(response.status().as_u16())))
                }
            }
        }
    }
}
