//! Rules shared by the free-text values people type (reasons, names, addresses).

/// Unicode's format characters (general category Cf, Unicode 16): invisible, yet they change
/// how text around them is shown. A right-to-left override (U+202E) makes `moc.elpmaxe` read
/// as `example.com`; zero-width spaces and joiners make two strings look identical. None has a
/// place in a reason, a name or an address an admin must be able to read as stored.
const FORMAT_CHARACTERS: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// The rule on typed text (no control character, no format character), as the regular
/// expression an API schema publishes (`pattern`, ECMA-262 syntax): what a whole value must
/// match. `line_breaks`: tabs and line breaks are allowed (a reason) or not (a search text).
/// Schema patterns reach only the Basic Multilingual Plane; the value's own check refuses the
/// format characters beyond it too.
#[must_use]
pub fn typed_text_pattern(line_breaks: bool) -> String {
    let mut refused = if line_breaks {
        String::from(r"\u0000-\u0008\u000B\u000C\u000E-\u001F")
    } else {
        String::from(r"\u0000-\u001F")
    };
    refused.push_str(r"\u007F-\u009F");
    for &(first, last) in FORMAT_CHARACTERS
        .iter()
        .filter(|(first, _)| *first <= 0xFFFF)
    {
        if first == last {
            refused.push_str(&format!("\\u{first:04X}"));
        } else {
            refused.push_str(&format!("\\u{first:04X}-\\u{last:04X}"));
        }
    }
    format!("^[^{refused}]*$")
}

/// Whether `c` is a Unicode format character (category Cf).
pub(crate) fn is_format(c: char) -> bool {
    let c = u32::from(c);
    FORMAT_CHARACTERS
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_pattern_lists_the_refused_characters_of_the_basic_plane() {
        let reason = typed_text_pattern(true);
        assert!(
            reason.starts_with("^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F")
        );
        assert!(reason.contains("\\u202A-\\u202E") && reason.contains("\\u00AD"));
        assert!(!reason.contains("E0001") && reason.ends_with("]*$"));
        let search = typed_text_pattern(false);
        assert!(search.starts_with("^[^\\u0000-\\u001F\\u007F-\\u009F"));
    }

    #[test]
    fn knows_the_invisible_characters_that_change_what_text_shows() {
        for c in [
            '\u{202E}', // right-to-left override
            '\u{202A}',
            '\u{2066}',
            '\u{2069}', // embeddings and isolates
            '\u{200B}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}', // zero-width characters
            '\u{00AD}',
            '\u{E0041}', // soft hyphen, a tag character
        ] {
            assert!(is_format(c), "U+{:04X}", u32::from(c));
        }
        for c in [
            'a',
            'é',
            ' ',
            '\n',
            '\u{0}',
            'ß',
            '中',
            '\u{1F600}',
            '\u{2070}',
        ] {
            assert!(!is_format(c), "U+{:04X}", u32::from(c));
        }
    }
}
