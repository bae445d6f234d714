//! The data directory: the generated JWT secret, the default SQLite file and `.eml` mail live
//! here, so it is private to the service's user.

use std::fs::DirBuilder;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::Context as _;

/// Creates `dir` (and missing parents) readable by its owner only (`0700`). An existing
/// directory is left as it is; that group or others may enter it is logged at `info` (shown by
/// `serve`, not by one-shot commands, whose standard error stays for errors).
///
/// # Errors
/// When the directory cannot be created or inspected.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("WARDEN_DATA_DIR: cannot create {}", dir.display()))?;
    let mode = std::fs::metadata(dir)
        .with_context(|| format!("WARDEN_DATA_DIR: cannot inspect {}", dir.display()))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        tracing::info!(
            dir = %dir.display(),
            mode = format!("{mode:04o}"),
            "the data directory is open to group or others; chmod 700 it"
        );
    }
    Ok(())
}
