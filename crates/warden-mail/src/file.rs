use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};
use warden_domain::ports::{MailError, Mailer};
use warden_domain::Email;

use crate::message;

/// Writes each message as `<random uuid>.eml` in a directory: the development default, so that
/// nothing leaves the machine.
#[derive(Clone)]
pub struct FileMailer {
    transport: AsyncFileTransport<Tokio1Executor>,
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    /// A mailer writing into `dir` (created if missing) and sending as `from`.
    ///
    /// # Errors
    /// When `from` is not a mailbox or `dir` cannot be created.
    pub fn new(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        let from = message::parse_sender(from)?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create mail directory {}", dir.display()))?;
        Ok(Self {
            transport: AsyncFileTransport::new(&dir),
            dir,
            from,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = message::build(email, &self.from)?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .with_context(|| format!("cannot write mail into {}", self.dir.display()))
            .map_err(MailError::Transient)
    }
}

impl fmt::Debug for FileMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileMailer")
            .field("dir", &self.dir)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}
