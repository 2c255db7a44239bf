//! `agrimap station add|list|token`: the monitoring stations and their
//! ingestion tokens.

use crate::store_args::StoreArgs;
use agrimap_model::{Feature, FeatureQuery, layer};
use anyhow::{Context, bail};
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct StationArgs {
    #[command(subcommand)]
    pub command: StationCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum StationCommand {
    /// Add a station to the monitoring layer.
    Add(AddArgs),
    /// List the stations, with whether each has a token.
    List,
    /// Issue a new token for a station (printed once; only its hash is kept).
    Token {
        /// Station identifier (e.g. WQ-01).
        station_id: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Station identifier, unique (e.g. WQ-27).
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub name: String,
    /// water_quality, insect_trap or weather.
    #[arg(long)]
    pub kind: String,
    /// Official code of the commune the station stands in.
    #[arg(long)]
    pub commune: String,
    /// The commune's boundary set (pre-2025 or 2025); without it, the set
    /// that has a commune of that code where the station stands.
    #[arg(long)]
    pub boundary_set: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub lon: f64,
    #[arg(long, allow_hyphen_values = true)]
    pub lat: f64,
    /// Comma-separated parameters it measures (salinity,ph,...).
    #[arg(long)]
    pub parameters: Option<String>,
    /// Minutes after its last reading before the station counts as silent
    /// (default: its kind's, 2 hours; 36 hours for a light trap).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub report_interval_min: Option<i64>,
}

pub fn station(args: &StationArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        let mut out = std::io::stdout().lock();
        match &args.command {
            StationCommand::Add(add) => {
                let core = agrimap_core::Core::new(store.clone(), agrimap_core::CoreConfig::default());
                let new = agrimap_core::new_station::NewStation {
                    id: add.id.clone(),
                    name: add.name.clone(),
                    kind: add.kind.clone(),
                    commune: add.commune.clone(),
                    boundary_set: add
                        .boundary_set
                        .as_deref()
                        .map(agrimap_core::communes::parse_boundary_set)
                        .transpose()?,
                    lon: add.lon,
                    lat: add.lat,
                    parameters: add.parameters.clone(),
                    report_interval_min: add.report_interval_min,
                };
                let commune = agrimap_core::new_station::add(&core, &new)
                    .await
                    .context("adding the station (nothing was changed)")?;
                writeln!(
                    out,
                    "added station {} in commune {} {} ({})",
                    add.id, commune.code, commune.name, commune.boundary_set
                )?;
            }
            StationCommand::List => {
                let monitoring = layer("monitoring").context("the catalog has no monitoring layer")?;
                let stations = store.features(monitoring, &FeatureQuery::default()).await?;
                let field = |f: &Feature, name: &str| {
                    monitoring
                        .field_index(name)
                        .and_then(|i| f.properties[i].as_str())
                        .unwrap_or("")
                        .to_owned()
                };
                writeln!(
                    out,
                    "{:<10} {:<14} {:<8} {:<6} name",
                    "station", "kind", "commune", "token"
                )?;
                for s in &stations {
                    let id = field(s, "station_id");
                    let token = if store.station_token_hash(&id).await?.is_some() {
                        "yes"
                    } else {
                        "no"
                    };
                    writeln!(
                        out,
                        "{:<10} {:<14} {:<8} {:<6} {}",
                        id,
                        field(s, "kind"),
                        field(s, "commune_code"),
                        token,
                        field(s, "name")
                    )?;
                }
            }
            StationCommand::Token { station_id } => {
                let token = agrimap_core::tokens::new_token().context("drawing a random token")?;
                let hash = agrimap_core::tokens::hash_token(&token);
                if !store.set_station_token_hash(station_id, &hash).await? {
                    bail!("no station '{station_id}': add it first with `agrimap station add`");
                }
                writeln!(out, "{token}")?;
                eprintln!("token for {station_id} printed above; it replaces any earlier one and is not shown again");
            }
        }
        Ok(())
    })
}
