//! `agrimap token create|list|revoke`: API tokens for planners, editors and
//! admins. The secret is printed once; the store keeps only its hash.

use crate::store_args::StoreArgs;
use agrimap_core::communes::merges::ProvinceMerges;
use agrimap_core::{Core, CoreConfig};
use agrimap_store::Store;
use anyhow::{Context, bail};
use std::io::Write;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Issue a token; its secret is printed on standard output, once.
    Create {
        /// planner (every field, every read API), editor (imports, edits,
        /// readings) or admin (tokens and stations).
        #[arg(long)]
        role: String,
        /// Who or what the token is for.
        #[arg(long)]
        name: String,
        /// Limit the token to a province, by its official code (repeatable);
        /// without it, every province.
        #[arg(long = "province")]
        provinces: Vec<String>,
    },
    /// List tokens (never their secrets), revoked ones included.
    List,
    /// Revoke a token at once, by its id.
    Revoke {
        /// The id shown by `agrimap token list`.
        id: String,
    },
}

pub fn token(args: &TokenArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        let mut out = std::io::stdout().lock();
        match &args.command {
            TokenCommand::Create { role, name, provinces } => {
                let (token, secret) =
                    agrimap_core::tokens::issue_scoped_token(store.as_ref(), name, role, provinces).await?;
                writeln!(out, "{secret}")?;
                eprintln!(
                    "token {} ({}) for {} printed above; only its hash is kept, so it is not shown again",
                    token.id,
                    token.role.name(),
                    token.name
                );
                let covers = merges(&store).await?.coverage(&token.provinces);
                let merged: Vec<&String> = covers.iter().filter(|p| !provinces.contains(p)).collect();
                if !covers.is_empty() {
                    eprintln!("limited to provinces {}", covers.join(", "));
                }
                if !merged.is_empty() {
                    eprintln!(
                        "(the official crosswalk merges pre-2025 province {} into {}: their data, still coded by \
                         their old communes, is this token's too)",
                        merged.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
                        provinces.join(", ")
                    );
                }
            }
            TokenCommand::List => {
                writeln!(
                    out,
                    "{:<8} {:<7} {:<20} {:<20} {:<10} name",
                    "id", "role", "created", "revoked", "provinces"
                )?;
                let merges = merges(&store).await?;
                for t in store.api_tokens().await? {
                    let covers = merges.coverage(&t.provinces);
                    writeln!(
                        out,
                        "{:<8} {:<7} {:<20} {:<20} {:<10} {}",
                        t.id,
                        t.role.name(),
                        t.created_at,
                        t.revoked_at.map_or_else(|| "-".to_owned(), |at| at.to_string()),
                        if covers.is_empty() {
                            "all".to_owned()
                        } else {
                            covers.join(",")
                        },
                        t.name
                    )?;
                }
            }
            TokenCommand::Revoke { id } => {
                if !store.revoke_api_token(id).await? {
                    bail!("no valid token has the id '{id}' (see `agrimap token list`)");
                }
                writeln!(out, "revoked {id}")?;
            }
        }
        Ok(())
    })
}

/// The merges the server judges tokens by: a token limited to a 2025
/// province covers the pre-2025 provinces the store's official list merges
/// into it.
async fn merges(store: &Arc<dyn Store>) -> anyhow::Result<Arc<ProvinceMerges>> {
    let core = Core::new(store.clone(), CoreConfig::default());
    Ok(core.province_merges().await?)
}
