//! `warden client ...` and `warden keys rotate`: machine clients and signing keys, for
//! operators.

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use warden_auth::Ed25519Keys;
use warden_domain::use_cases::{ClientError, ClientManager};
use warden_domain::{Client, ClientName, ClientRef, Operator, Scope};

use crate::run::compose;
use crate::run::config::Config;
use crate::run::jwt_config::JwtAlgorithm;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a machine client and print its bearer token alone on one line (shown this
    /// once: only its hash is stored).
    Create(ClientCreateArgs),
    /// List every client, revoked ones included: name, scopes, created, revoked, id.
    List,
    /// Revoke the live client of this name: its token is refused from then on.
    Revoke(ClientRevokeArgs),
}

#[derive(Debug, Args)]
pub struct ClientCreateArgs {
    /// 1 to 64 letters, digits, '.', '_' or '-'; unique among live clients.
    #[arg(long)]
    name: String,
    /// Comma-separated: introspect, scim, scim.privileged (with scim: the identity provider
    /// manages administrators too), audit, ssf.manage, ssf.read.
    #[arg(long)]
    scope: String,
}

#[derive(Debug, Args)]
pub struct ClientRevokeArgs {
    #[arg(long)]
    name: String,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new Ed25519 signing key to the key file (JWT_ALGORITHM=EdDSA) and print its kid.
    /// Older keys stay in the file and keep verifying the tokens they signed. Restart the
    /// servers to sign with it.
    Rotate,
}

/// Runs a `client` command as `operator`.
///
/// # Errors
/// A one-line, user-facing reason.
pub async fn client(
    command: ClientCommand,
    config: &Config,
    operator: Operator,
) -> anyhow::Result<()> {
    let (services, _) = compose::for_cli(config).await?;
    let by = ClientManager::Operator(&operator);
    match command {
        ClientCommand::Create(args) => {
            let name = ClientName::parse(&args.name).map_err(|e| anyhow!("--name {e}"))?;
            let scopes = Scope::parse_list(&args.scope).map_err(|e| anyhow!("--scope {e}"))?;
            let created = services
                .clients
                .create(by, name, scopes)
                .await
                .map_err(|e| described(e, &args.name))?;
            println!("{}", created.token.expose());
        }
        ClientCommand::List => {
            let clients = services
                .clients
                .list(by)
                .await
                .map_err(|e| described(e, ""))?;
            print!("{}", table(&clients));
        }
        ClientCommand::Revoke(args) => {
            let name = ClientName::parse(&args.name).map_err(|e| anyhow!("--name {e}"))?;
            let client = services
                .clients
                .revoke(by, &ClientRef::Name(name))
                .await
                .map_err(|e| described(e, &args.name))?;
            println!("{}", client.id);
        }
    }
    Ok(())
}

/// `warden keys rotate`.
///
/// # Errors
/// When the algorithm is not EdDSA or the key file cannot be replaced.
pub fn rotate_keys(config: &Config) -> anyhow::Result<()> {
    if config.jwt.algorithm != JwtAlgorithm::EdDsa {
        bail!("JWT_ALGORITHM is HS256: signing keys are rotated only with JWT_ALGORITHM=EdDSA");
    }
    if config.jwt.private_key_file.is_none() {
        crate::run::data_dir::prepare(&config.data_dir)?;
    }
    let kid = Ed25519Keys::rotate(&config.jwt.key_file(&config.data_dir))?;
    println!("{kid}");
    Ok(())
}

fn described(error: ClientError, name: &str) -> anyhow::Error {
    match error {
        ClientError::NameTaken => anyhow!("--name: a live client is already named {name}"),
        ClientError::NotFound => anyhow!("--name: no live client is named {name}"),
        ClientError::NoScopes => anyhow!("--scope: name at least one scope"),
        other => anyhow::Error::new(other),
    }
}

/// The client list as aligned columns, with a header line.
fn table(clients: &[Client]) -> String {
    let time = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut rows = vec![[
        "NAME".to_owned(),
        "SCOPES".to_owned(),
        "CREATED".to_owned(),
        "REVOKED".to_owned(),
        "ID".to_owned(),
    ]];
    rows.extend(clients.iter().map(|c| {
        [
            c.name.to_string(),
            Scope::join(&c.scopes),
            time(c.created_at),
            c.revoked_at.map_or_else(|| "-".to_owned(), time),
            c.id.to_string(),
        ]
    }));
    let widths: Vec<usize> = (0..5)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            format!("{}\n", cells.join("  ").trim_end())
        })
        .collect()
}
