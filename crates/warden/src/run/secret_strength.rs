//! How guessable a shared secret is (`JWT_SECRET`), estimated with zxcvbn.
//!
//! zxcvbn finds the dictionary words, keyboard walks, sequences, repeats and dates in a text
//! and estimates how many guesses an attacker who tries those first needs. It counts guesses
//! in a `u64`, which a long text overflows (every random 20 characters would score the same),
//! so the secret is scored in windows of [`WINDOW`] characters and the estimates are added; a
//! window that already occurs earlier in the secret adds nothing (a repeated half is no
//! secret), and the windows are laid at two offsets, the lower sum counting, so that a word
//! cut by one layout is whole in the other.

/// Characters scored at once: 10^16 brute-force guesses fit a `u64` with room to spare.
const WINDOW: usize = 16;
/// Characters scored in all: a longer secret is as strong as its first 128 characters.
const MAX_SCORED: usize = 128;

/// The estimated strength of `secret` in bits (log2 of the guesses needed).
pub fn estimated_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().take(MAX_SCORED).collect();
    let log10_guesses = [0, WINDOW / 2]
        .into_iter()
        .map(|offset| scored_from(&chars, offset))
        .fold(f64::INFINITY, f64::min);
    log10_guesses * std::f64::consts::LOG2_10
}

/// The sum of the windows' log10 guesses, the first window `offset` characters long (or
/// [`WINDOW`] when `offset` is 0).
fn scored_from(chars: &[char], offset: usize) -> f64 {
    let mut total = 0.0;
    let mut start = 0;
    while start < chars.len() {
        let width = if start == 0 && offset > 0 {
            offset
        } else {
            WINDOW
        };
        let end = (start + width).min(chars.len());
        let window: String = chars[start..end].iter().collect();
        let before: String = chars[..end - 1].iter().collect();
        if !(start > 0 && before.contains(&window)) {
            total += zxcvbn::zxcvbn(&window, &[]).guesses_log10().max(0.0);
        }
        start = end;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterned_and_wordy_secrets_score_low() {
        for secret in [
            "0123456789abcdef0123456789abcdef",
            "supersecretjwtkeyforwarden123456",
            "test-secret-0123456789abcdef0123456789abcdef",
            "warden-benchmark-secret-0123456789abcdef",
            "ThisIsMyVerySecretKeyForSigningJWTs",
            "correcthorsebatterystaplecorrecthorse",
            "qwertyuiopasdfghjklzxcvbnm123456789",
            "Xk9#pQ2!mZ7$wL4@Xk9#pQ2!mZ7$wL4@Xk9#pQ2!mZ7$wL4@",
            "passwordpasswordpasswordpassword12",
        ] {
            let bits = estimated_bits(secret);
            assert!(bits < 90.0, "{secret}: {bits:.0} bits");
        }
    }

    #[test]
    fn random_secrets_score_high() {
        for secret in [
            // openssl rand -hex 16, -base64 32, -base64 48
            "51304e2aa09e2222895de63fce0baa83",
            "oDnix6Gcm127zTZxwXolWMTAjskicpeBeg95QmKdSf4=",
            "jlN4jQusqHXXk07s0GHEuE94gE8lwublGgV60P7bpi8COBQjQ+Xk6N8JrCJlRVPt",
        ] {
            let bits = estimated_bits(secret);
            assert!(bits >= 90.0, "{secret}: {bits:.0} bits");
        }
        let long = "jlN4jQusqHXXk07s0GHEuE94gE8lwublGgV60P7bpi8COBQjQ+Xk6N8JrCJlRVPt".repeat(8);
        assert!(estimated_bits(&long) >= 200.0, "only 128 characters scored");
    }
}
