//! `agrimap ntm`: new rural development from the command line.
//!
//! - `agrimap ntm sets`: the criteria sets held (newest version of each).
//! - `agrimap ntm load FILE`: keep a set file (a corrected version, or the
//!   next period's set), checked first.
//! - `agrimap ntm scorecard CODE --year Y`: a commune's scorecard, as a
//!   table (or `--json`, as `/api/ntm/scorecards/{code}`).

use crate::store_args::StoreArgs;
use agrimap_core::Core;
use agrimap_core::communes::boundary_set_param;
use agrimap_core::ntm::scorecard::{self, Which};
use agrimap_model::ntm::{EntryValue, Target};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct NtmArgs {
    #[command(subcommand)]
    pub command: NtmCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum NtmCommand {
    /// List the criteria sets held: id, version, level, period, criteria and indicators.
    Sets,
    /// Keep a criteria set file (JSON, as in data/ntm/); a version once kept is never rewritten.
    Load {
        /// The set file.
        file: PathBuf,
    },
    /// Print a commune's scorecard for a year: every indicator's value, target and verdict.
    Scorecard {
        /// The commune's official code.
        code: String,
        /// The year assessed.
        #[arg(long)]
        year: i32,
        /// `pre-2025` or `2025`; by default the newest set holding the code.
        #[arg(long)]
        boundary_set: Option<String>,
        /// The criteria set's id; by default the standard set covering the year.
        #[arg(long)]
        set: Option<String>,
        /// Print the scorecard as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the province's roll-up for a year as CSV (one row per commune), or JSON.
    Dashboard {
        /// The province's official code; every commune held without it.
        #[arg(long)]
        province: Option<String>,
        #[arg(long)]
        year: i32,
        /// `pre-2025` or `2025`; by default the newest set held.
        #[arg(long)]
        boundary_set: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn value_text(v: Option<EntryValue>) -> String {
    match v {
        None => "—".into(),
        Some(EntryValue::Pass(true)) => "đạt".into(),
        Some(EntryValue::Pass(false)) => "không đạt".into(),
        Some(EntryValue::Number(n)) => format!("{n}"),
    }
}

fn target_text(t: Option<Target>) -> String {
    match t {
        None => "—".into(),
        Some(Target::Pass(_)) => "đạt".into(),
        Some(Target::Number(n)) => format!("{n}"),
    }
}

pub fn ntm(args: &NtmArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let (store, name) = args.store.open().await?;
        let core = Core::new(store, agrimap_core::CoreConfig::default());
        let mut out = std::io::stdout().lock();
        match &args.command {
            NtmCommand::Sets => {
                for (set, versions) in core.ntm_sets().await? {
                    writeln!(
                        out,
                        "{}\tv{}\t{}\t{}–{}\t{} criteria, {} indicators{}\t{}",
                        set.id,
                        set.version,
                        set.level.as_str(),
                        set.period.from,
                        set.period.to,
                        set.criteria.len(),
                        set.indicators().count(),
                        if set.complete { "" } else { " (incomplete)" },
                        set.title_vi,
                    )?;
                    if versions.len() > 1 {
                        writeln!(out, "\tversions held: {versions:?}")?;
                    }
                }
            }
            NtmCommand::Load { file } => {
                let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                let (set, added) = agrimap_core::ntm::sets::load(core.store.as_ref(), &bytes)
                    .await
                    .with_context(|| format!("loading {}", file.display()))?;
                if added {
                    writeln!(out, "criteria set {} version {} stored in {name}", set.id, set.version)?;
                } else {
                    writeln!(out, "criteria set {} version {} was already held", set.id, set.version)?;
                }
            }
            NtmCommand::Dashboard {
                province,
                year,
                boundary_set,
                json,
            } => {
                use agrimap_core::ntm::dashboard::{self, DashboardRequest, province_param};
                let req = DashboardRequest {
                    province: province_param(province.as_deref())?,
                    boundary_set: boundary_set_param(boundary_set.as_deref())?,
                    year: *year,
                };
                let d = dashboard::dashboard(&core, &req).await?;
                if *json {
                    writeln!(out, "{}", serde_json::to_string_pretty(d.as_ref())?)?;
                } else {
                    write!(out, "{}", dashboard::to_csv(&d))?;
                }
            }
            NtmCommand::Scorecard {
                code,
                year,
                boundary_set,
                set,
                json,
            } => {
                let which = Which {
                    code: code.clone(),
                    boundary_set: boundary_set_param(boundary_set.as_deref())?,
                    year: *year,
                    set: set.clone(),
                };
                let card = scorecard::scorecard(&core, &which).await?;
                if *json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&card)?)?;
                    return anyhow::Ok(());
                }
                print_scorecard(&mut out, &card)?;
            }
        }
        anyhow::Ok(())
    })
}

/// A scorecard as a table: one line per criterion, then one per indicator.
fn print_scorecard(out: &mut impl Write, card: &scorecard::Scorecard) -> std::io::Result<()> {
    writeln!(
        out,
        "{} {} ({}), {}: {} of {} criteria met, {} of {} indicators; dossier {}",
        card.commune.code,
        card.commune.name,
        card.commune.boundary_set,
        card.year,
        card.criteria_met,
        card.criteria_total,
        card.indicators_met,
        card.indicators_total,
        card.dossier.state.as_str(),
    )?;
    for c in &card.criteria {
        writeln!(out, "{}\t{}\t{}", c.id, c.name_vi, c.verdict.as_str())?;
        for i in &c.indicators {
            writeln!(
                out,
                "  {}\t{}\ttarget {}\t{}\t{}",
                i.id,
                value_text(i.value),
                target_text(i.target),
                i.verdict.as_str(),
                i.source
            )?;
        }
    }
    Ok(())
}
