//! Who is running a CLI command, for the audit trail of operator changes.

/// The name of the process's real user, as the system knows it (`/proc/self/status` and
/// `/etc/passwd`, which the caller cannot set, unlike `$USER`). Under `sudo`, the invoking user
/// is added: `root (sudo: alice)`. Falls back to `$USER`, then `uid N`, then `unknown`.
pub fn current() -> String {
    let base = real_uid()
        .map(|uid| name_of(uid).unwrap_or_else(|| format!("uid {uid}")))
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    match std::env::var("SUDO_USER") {
        Ok(sudo) if !sudo.is_empty() && sudo != base => format!("{base} (sudo: {sudo})"),
        _ => base,
    }
}

fn real_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_uid(&status)
}

/// The real uid from a `/proc/PID/status` text (`Uid:\treal\teffective\t...`).
fn parse_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn name_of(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    find_name(&passwd, uid)
}

/// The name of `uid` in an `/etc/passwd` text (`name:x:uid:gid:...`).
fn find_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let found: u32 = fields.nth(1)?.parse().ok()?;
        (found == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_real_uid_and_its_name() {
        let status = "Name:\twarden\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(parse_uid(status), Some(1000));
        assert_eq!(parse_uid("Name:\tx\n"), None);
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(find_name(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(find_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(find_name(passwd, 42), None);
        assert_eq!(find_name("broken line\n::\n", 0), None);
    }

    #[test]
    fn names_someone() {
        assert!(!current().is_empty());
    }
}
