//! Outgoing mail with lettre: SMTP when `SMTP_URL` is set, otherwise one `.eml` file per message
//! under `MAIL_DIR` (the development default, also readable by tests).

use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::Config;
use crate::error::{Error, Result};

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    pub fn new(config: &Config) -> Result<Self> {
        let from = config
            .mail_from
            .parse()
            .map_err(|e| Error::internal(format!("MAIL_FROM: {e}")))?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| Error::internal(format!("SMTP_URL: {e}")))?
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&config.mail_dir)
                    .map_err(|e| Error::internal(format!("MAIL_DIR: {e}")))?;
                Transport::Files(AsyncFileTransport::new(&config.mail_dir))
            }
        };
        Ok(Self { transport, from })
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<()> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| Error::internal(format!("recipient {to}: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(Error::internal)?;
        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(drop).map_err(Error::internal),
            Transport::Files(t) => t.send(message).await.map(drop).map_err(Error::internal),
        }
    }
}
