//! The `warden` command line. Operator commands run the same use cases as HTTP.

pub mod clients;
pub mod os_user;
pub mod user_table;

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand};
use warden_domain::use_cases::{DeactivateError, NewAccount};
use warden_domain::{
    EmailAddress, Operator, PageLimit, Password, Reason, Role, SearchText, StatusAction,
    StatusFilter, UserFilter, UserId,
};

use crate::run::app::{open, Application};
use crate::run::compose;
use crate::run::config::Config;
use crate::workers::after_commit::Channel;

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = "Deactivate and reactivate user accounts, audited and notified."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, then run the HTTP server and the outbox worker (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Print a signed access token for an active account, alone on one line.
    Token {
        #[arg(long)]
        email: String,
    },
    /// Manage machine clients (other services' bearer tokens).
    #[command(subcommand)]
    Client(crate::cli::clients::ClientCommand),
    /// Manage the EdDSA signing keys.
    #[command(subcommand)]
    Keys(crate::cli::clients::KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an active account and print its id alone on one line.
    Create(CreateArgs),
    /// Deactivate an account as the named admin or helpdesk (same rules as the HTTP API).
    Deactivate(ChangeArgs),
    /// Reactivate an account as the named admin or helpdesk (same rules as the HTTP API).
    Reactivate(ChangeArgs),
    /// List accounts, newest first, as a table (the filters of `GET /api/v1/users`).
    List(ListArgs),
    /// Give an account another role as the named admin (same rules as
    /// `PATCH /api/v1/users/role`); prints the account's id.
    Role(RoleArgs),
}

#[derive(Debug, Args)]
pub struct RoleArgs {
    #[arg(long)]
    user_id: String,
    /// `admin`, `helpdesk` or `user`.
    #[arg(long)]
    role: String,
    /// Email of the active admin on whose authority the change is made. Not a credential:
    /// whoever can run this holds the database. The audit trail records the change as an
    /// `operator` on the `cli` channel, with the OS user who ran it.
    #[arg(long)]
    by: String,
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Accounts whose email address, first name or last name starts with this text (any case).
    #[arg(long)]
    q: Option<String>,
    /// `active`, `inactive` or `all`.
    #[arg(long, default_value = "all")]
    status: String,
    /// `admin`, `helpdesk` or `user` (all when absent).
    #[arg(long)]
    role: Option<String>,
    /// Accounts per page, 1 to 100.
    #[arg(long, default_value_t = PageLimit::DEFAULT)]
    limit: u32,
    /// Where the previous page ended (printed under it).
    #[arg(long)]
    cursor: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("secret").required(true).args(["password", "password_stdin"])))]
pub struct CreateArgs {
    #[arg(long)]
    email: String,
    /// The password (visible to other local users in `ps` and kept in shell history: prefer
    /// `--password-stdin`).
    #[arg(long)]
    password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Make the account an administrator (the same as `--role admin`).
    #[arg(long, conflicts_with = "role")]
    admin: bool,
    /// `admin`, `helpdesk` or `user` (the default).
    #[arg(long)]
    role: Option<String>,
    #[arg(long, default_value = "")]
    first_name: String,
    #[arg(long, default_value = "")]
    last_name: String,
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[arg(long)]
    user_id: String,
    /// Email of the active admin or helpdesk on whose authority the change is made (a
    /// helpdesk may change `user` accounts only). Not a credential:
    /// whoever can run this holds the database. The audit trail records the change as an
    /// `operator` on the `cli` channel, with the OS user who ran it.
    #[arg(long)]
    by: String,
    #[arg(long)]
    reason: Option<String>,
    /// Deactivate only: a timed suspension ending at this RFC 3339 time (in the future, at most
    /// ten years ahead); the server reactivates the account then.
    #[arg(long)]
    until: Option<String>,
}

/// Runs one command to completion.
///
/// # Errors
/// A one-line, user-facing reason.
pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(config.clone()).await?;
            tracing::info!(addr = %config.addr, port = app.port(), "warden listening");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            open(&config).await?;
            tracing::info!("migrations applied");
        }
        Command::User(UserCommand::Create(args)) => {
            let (services, _) = compose::for_cli(&config).await?;
            let password = match (args.password, args.password_stdin) {
                (Some(text), false) => {
                    Password::parse(&text).map_err(|e| anyhow!("--password {e}"))?
                }
                _ => Password::parse(&read_password_line()?)
                    .map_err(|e| anyhow!("--password-stdin {e}"))?,
            };
            let role = match (args.admin, args.role.as_deref()) {
                (true, _) => Role::Admin,
                (false, None) => Role::User,
                (false, Some(role)) => parse_role(role)?,
            };
            let user = services
                .create_user
                .execute(NewAccount {
                    email: args.email,
                    password,
                    first_name: args.first_name,
                    last_name: args.last_name,
                    role,
                })
                .await?;
            println!("{}", user.id);
        }
        Command::User(UserCommand::Deactivate(args)) => change_status(&config, args, true).await?,
        Command::User(UserCommand::Reactivate(args)) => change_status(&config, args, false).await?,
        Command::User(UserCommand::List(args)) => list(&config, args).await?,
        Command::User(UserCommand::Role(args)) => change_role(&config, args).await?,
        Command::Token { email } => {
            let (services, _) = compose::for_cli(&config).await?;
            let token = services.issue_token.for_email(&operator(), &email).await?;
            println!("{}", token.expose());
        }
        Command::Client(command) => {
            crate::cli::clients::client(command, &config, operator()).await?;
        }
        Command::Keys(crate::cli::clients::KeysCommand::Rotate) => {
            crate::cli::clients::rotate_keys(&config)?;
        }
    }
    Ok(())
}

async fn change_role(config: &Config, args: RoleArgs) -> anyhow::Result<()> {
    let (services, after_commit) = compose::for_cli(config).await?;
    let by = EmailAddress::parse(&args.by).map_err(|e| anyhow!("--by {e}"))?;
    let target = UserId::parse(&args.user_id).map_err(|_| anyhow!("--user-id is not a user id"))?;
    let role = parse_role(&args.role)?;
    let reason = match args.reason.as_deref() {
        Some(text) => Reason::parse(text).map_err(|e| anyhow!("--reason {e}"))?,
        None => None,
    };
    let admin = services
        .auth
        .admin_by_email(&operator(), &by)
        .await
        .context("--by")?;
    let (user, _) = services
        .change_role
        .execute(&admin, target, role, reason)
        .await?;
    after_commit.role_changed(Channel::Cli).await;
    println!("{}", user.id);
    Ok(())
}

async fn change_status(config: &Config, args: ChangeArgs, deactivate: bool) -> anyhow::Result<()> {
    let (services, after_commit) = compose::for_cli(config).await?;
    let by = EmailAddress::parse(&args.by).map_err(|e| anyhow!("--by {e}"))?;
    let target = UserId::parse(&args.user_id).map_err(|_| anyhow!("--user-id is not a user id"))?;
    let reason = match args.reason.as_deref() {
        Some(text) => Reason::parse(text).map_err(|e| anyhow!("--reason {e}"))?,
        None => None,
    };
    let until = match args.until.as_deref() {
        Some(_) if !deactivate => return Err(anyhow!("--until applies to deactivate only")),
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text.trim())
                .map_err(|_| anyhow!("--until must be an RFC 3339 date-time"))?
                .with_timezone(&chrono::Utc),
        ),
        None => None,
    };
    let admin = services
        .auth
        .staff_by_email(&operator(), &by)
        .await
        .context("--by")?;
    let (user, action) = if deactivate {
        let user = services
            .deactivate
            .execute_until(&admin, target, reason, until)
            .await
            .map_err(|e| match e {
                DeactivateError::InvalidUntil(invalid) => anyhow!("--until {invalid}"),
                other => other.into(),
            })?;
        (user, StatusAction::Deactivate)
    } else {
        let user = services.reactivate.execute(&admin, target, reason).await?;
        (user, StatusAction::Reactivate)
    };
    after_commit.status_changed(Channel::Cli, action).await;
    println!("{}", user.id);
    Ok(())
}

/// `--role`, naming the allowed values when it names none of them.
fn parse_role(text: &str) -> anyhow::Result<Role> {
    Role::parse(text.trim()).map_err(|_| {
        let roles: Vec<&str> = warden_domain::ALL_ROLES
            .iter()
            .map(|r| r.as_str())
            .collect();
        anyhow!("--role must be one of {}", roles.join(", "))
    })
}

/// Prints one page of accounts as a table; when more follow, says how to get them (on
/// standard error, so standard output holds only the table).
async fn list(config: &Config, args: ListArgs) -> anyhow::Result<()> {
    let filter = UserFilter {
        text: match args.q.as_deref() {
            Some(text) => SearchText::parse(text).map_err(|e| anyhow!("--q {e}"))?,
            None => None,
        },
        status: StatusFilter::parse(&args.status).map_err(|e| anyhow!("--status {e}"))?,
        role: match args.role.as_deref() {
            Some(role) => Some(parse_role(role)?),
            None => None,
        },
    };
    let limit = PageLimit::new(args.limit).map_err(|e| anyhow!("--limit {e}"))?;
    let cursor = match args.cursor.as_deref() {
        Some(text) => Some(
            uuid::Uuid::try_parse(text)
                .map_err(|_| anyhow!("--cursor must be a cursor printed by a previous page"))?,
        ),
        None => None,
    };
    let (services, _) = compose::for_cli(config).await?;
    let page = services
        .directory
        .search_for_operator(&operator(), &filter, cursor, limit)
        .await?;
    print!("{}", crate::cli::user_table::render(&page.users));
    if let Some(next) = page.next_cursor {
        eprintln!("more accounts follow: add --cursor {next}");
    }
    Ok(())
}

/// The one place an [`Operator`] is made: whoever runs this binary's commands, named by the OS.
fn operator() -> Operator {
    Operator::from_os_user(os_user::current())
}

/// The first line of standard input, without its line ending.
fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("--password-stdin: cannot read standard input")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
}

#[cfg(test)]
mod tests {
    /// Powers that bypass credentials need an `Operator`; no HTTP code may make one.
    #[test]
    fn http_code_never_makes_an_operator() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        // Every file under these, subdirectories (a route's own module folder) included.
        let mut dirs = vec![src.join("http"), src.join("routes")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files.extend(["run/app.rs", "run/state.rs"].map(|f| src.join(f)));
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                !text.contains("Operator::")
                    && !text.contains("_by_email")
                    && !text.contains("for_email"),
                "{} reaches operator powers",
                file.display()
            );
        }
    }
}
