use std::fmt;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
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
        // Mail holds personal data: the directory and each file are the owner's alone.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
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
        let id = self
            .transport
            .send(message)
            .await
            .with_context(|| format!("cannot write mail into {}", self.dir.display()))
            .map_err(MailError::transient)?;
        let path = self.dir.join(format!("{id}.eml"));
        tokio::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .await
            .with_context(|| format!("cannot make {} private", path.display()))
            .map_err(MailError::transient)
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
