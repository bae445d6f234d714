//! The table `warden user list` prints: one account per line, columns padded to line up.

use warden_domain::User;

const HEADER: [&str; 5] = ["ID", "EMAIL", "NAME", "ROLE", "STATUS"];

/// The accounts as lines of text: a header, then one line per account. Control characters in
/// names are shown as `?`, so no stored name can move the cursor or recolour the terminal.
pub fn render(users: &[User]) -> String {
    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|user| {
            let name = format!("{} {}", user.first_name, user.last_name);
            [
                user.id.to_string(),
                user.email.to_string(),
                printable(name.trim()),
                user.role.as_str().to_owned(),
                if user.is_active() {
                    "active"
                } else {
                    "inactive"
                }
                .to_owned(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Control and invisible format characters (which search text refuses, one character being
/// never too long) become `?`.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if warden_domain::SearchText::parse(&c.to_string()).is_err() {
                '?'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use warden_domain::{AccountStatus, Deactivation, EmailAddress, Role, UserId};

    use super::*;

    fn user(email: &str, first: &str, last: &str, active: bool) -> User {
        let now = Utc::now();
        User {
            id: UserId::generate(),
            email: EmailAddress::parse(email).unwrap(),
            first_name: first.into(),
            last_name: last.into(),
            role: Role::User,
            status: if active {
                AccountStatus::Active
            } else {
                AccountStatus::Deactivated(Deactivation {
                    at: now,
                    by: None,
                    reason: None,
                    until: None,
                })
            },
            token_version: 0,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn columns_line_up_and_names_cannot_drive_the_terminal() {
        let ada = user("ada@example.com", "Ada", "Lovelace", true);
        let eve = user("eve@example.com", "Eve\u{1b}[31m", "", false);
        let table = render(&[ada.clone(), eve.clone()]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID  "));
        let email_column = lines[0].find("EMAIL").unwrap();
        assert_eq!(lines[1].find("ada@example.com"), Some(email_column));
        assert_eq!(lines[2].find("eve@example.com"), Some(email_column));
        assert!(lines[1].contains("Ada Lovelace") && lines[1].ends_with("active"));
        assert!(lines[2].contains("Eve?[31m") && lines[2].ends_with("inactive"));
        assert!(!table.contains('\u{1b}'));
        assert_eq!(render(&[]), "ID  EMAIL  NAME  ROLE  STATUS\n");
    }
}
