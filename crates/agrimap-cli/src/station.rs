//! `agrimap station add|list|token`: the monitoring stations and their
//! ingestion tokens.

use crate::store_args::StoreArgs;
use agrimap_model::{Feature, FeatureQuery, Value, layer};
use agrimap_store::{LayerWrite, Store, WriteBatch};
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
    #[arg(long, default_value = "pre-2025")]
    pub boundary_set: String,
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
                if let Some(existing) = find(store.as_ref(), &add.id).await? {
                    bail!("a station '{}' exists already (feature {})", add.id, existing.id);
                }
                let monitoring = layer("monitoring").context("the catalog has no monitoring layer")?;
                let mut properties = vec![Value::Null; monitoring.fields.len()];
                for (name, value) in [
                    ("station_id", Some(add.id.as_str())),
                    ("name", Some(add.name.as_str())),
                    ("kind", Some(add.kind.as_str())),
                    ("commune_code", Some(add.commune.as_str())),
                    ("boundary_set", Some(add.boundary_set.as_str())),
                    ("parameters", add.parameters.as_deref()),
                    ("status", Some("active")),
                    ("alert_state", Some("ok")),
                ] {
                    if let (Some(i), Some(v)) = (monitoring.field_index(name), value) {
                        properties[i] = Value::from(v);
                    }
                }
                if let (Some(i), Some(minutes)) =
                    (monitoring.field_index("report_interval_min"), add.report_interval_min)
                {
                    properties[i] = Value::Int(minutes);
                }
                let feature = Feature {
                    id: 0,
                    geometry: geo::Point::new(add.lon, add.lat).into(),
                    properties,
                };
                store
                    .write(WriteBatch {
                        layers: vec![LayerWrite {
                            layer: monitoring,
                            replace: false,
                            features: vec![feature],
                        }],
                        readings: vec![],
                        ..Default::default()
                    })
                    .await
                    .context("adding the station (nothing was changed)")?;
                writeln!(out, "added station {}", add.id)?;
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

async fn find(store: &dyn Store, id: &str) -> anyhow::Result<Option<Feature>> {
    let monitoring = layer("monitoring").context("the catalog has no monitoring layer")?;
    let query = FeatureQuery {
        filter: Some(agrimap_model::Filter::Compare {
            field: "station_id".into(),
            op: agrimap_model::CompareOp::Eq,
            value: Value::from(id),
        }),
        ..FeatureQuery::default()
    };
    Ok(store.features(monitoring, &query).await?.into_iter().next())
}
