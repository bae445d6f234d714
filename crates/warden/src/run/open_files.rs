//! The open-file limit, which bounds the connections a process can hold: each public
//! connection costs two descriptors (the socket, and the second handle `http::Connection`
//! keeps to stop reading a slow body).
//!
//! At start the soft limit is raised to the hard one (as Go and nginx's `worker_rlimit_nofile`
//! do); the usual soft limit of 1024 would otherwise stop `accept` long before
//! `WARDEN_MAX_CONNECTIONS`.

/// Descriptors kept for everything but public connections: database and SMTP connections,
/// files, the operations listener (64 connections) and the runtime's own.
pub const RESERVED: u64 = 512;
/// Descriptors one public connection holds.
pub const PER_CONNECTION: u64 = 2;
/// The most the soft limit is raised to (Linux's default `nr_open`).
const CEILING: u64 = 1 << 20;

/// Raises the soft open-file limit as far as the hard limit allows; returns the soft limit in
/// force afterwards (`None`: unlimited or unknown).
pub fn raise_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let limit = getrlimit(Resource::Nofile);
        let target = limit.maximum.unwrap_or(CEILING).min(CEILING);
        if limit.current.is_some_and(|current| current < target) {
            let raised = Rlimit {
                current: Some(target),
                maximum: limit.maximum,
            };
            if let Err(error) = setrlimit(Resource::Nofile, raised) {
                tracing::warn!(error = %error, "cannot raise the open-file limit");
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connections each of `workers` may hold: `wanted`, unless `open_files` descriptors cannot
/// carry that many on every worker beside [`RESERVED`].
pub fn connections_per_worker(wanted: usize, workers: usize, open_files: Option<u64>) -> usize {
    let Some(open_files) = open_files else {
        return wanted;
    };
    let workers = workers.max(1) as u64;
    let fit = open_files.saturating_sub(RESERVED) / PER_CONNECTION / workers;
    wanted
        .min(usize::try_from(fit).unwrap_or(usize::MAX))
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_fits_the_open_file_limit() {
        assert_eq!(connections_per_worker(25_000, 1, None), 25_000);
        assert_eq!(connections_per_worker(25_000, 1, Some(1_048_576)), 25_000);
        assert_eq!(connections_per_worker(25_000, 1, Some(20_000)), 9_744);
        assert_eq!(connections_per_worker(25_000, 2, Some(20_000)), 4_872);
        assert_eq!(connections_per_worker(25_000, 1, Some(100)), 1);
        assert_eq!(connections_per_worker(100, 1, Some(20_000)), 100);
    }

    #[test]
    fn raising_keeps_at_least_the_limit_there_was() {
        let before = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let after = raise_limit();
        assert!(after >= before || after.is_none());
    }
}
