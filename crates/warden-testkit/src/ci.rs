//! Whether the tests run under CI, decided in one place: there, a test that needs something
//! missing (PostgreSQL, a browser) fails instead of reporting itself skipped, so no CI run can
//! pass a test it never ran.

/// Under CI: `CI` set to anything but empty, `false` or `0` (as CI services and `.ci/run` set
/// it), or `WARDEN_REQUIRE_BROWSER` set the same way (for the browser tests alone).
#[must_use]
pub fn in_ci() -> bool {
    set("CI")
}

/// Whether the browser tests must run: under CI, or when `WARDEN_REQUIRE_BROWSER` is set.
#[must_use]
pub fn browser_required() -> bool {
    in_ci() || set("WARDEN_REQUIRE_BROWSER")
}

fn set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| {
        let value = value.trim();
        !value.is_empty() && value != "false" && value != "0"
    })
}
