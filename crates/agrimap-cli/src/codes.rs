//! `agrimap codes list|add|retire`: the store's value lists (crop types,
//! seasons, species, …), changed with no migration.

use crate::store_args::StoreArgs;
use agrimap_model::Code;
use agrimap_model::codes::CODE_LISTS;
use anyhow::Context;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct CodesArgs {
    #[command(subcommand)]
    pub command: CodesCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum CodesCommand {
    /// Print the codes of one list, or of every list (retired ones marked).
    List {
        /// crop_type, season, practice, species, farming_mode, station_kind or pest_species.
        list: Option<String>,
    },
    /// Add a code to a list: `agrimap codes add species clown_knifefish "Cá thát lát" "Clown knifefish"`.
    Add {
        list: String,
        /// Lowercase ASCII, digits and `_`.
        code: String,
        label_vi: String,
        label_en: String,
    },
    /// Retire a code: old features keep it, new ones may not take it; refused while features use it.
    Retire { list: String, code: String },
}

pub fn codes(args: &CodesArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let (store, _) = args.store.open().await?;
        match &args.command {
            CodesCommand::List { list } => {
                if let Some(l) = list
                    && !agrimap_model::codes::is_code_list(l)
                {
                    anyhow::bail!(agrimap_model::codes::CodeError::UnknownList(l.clone()));
                }
                let codes = store.codes().await?;
                let mut out = std::io::stdout().lock();
                for (id, title_vi, title_en) in CODE_LISTS
                    .iter()
                    .filter(|(id, ..)| list.as_deref().is_none_or(|l| l == *id))
                {
                    writeln!(out, "{id}: {title_vi} / {title_en}")?;
                    for c in codes.iter().filter(|c| c.list == *id) {
                        let retired = if c.retired { "  (retired)" } else { "" };
                        writeln!(out, "  {:<26} {} / {}{retired}", c.code, c.label_vi, c.label_en)?;
                    }
                }
            }
            CodesCommand::Add {
                list,
                code,
                label_vi,
                label_en,
            } => {
                store
                    .add_code(&Code {
                        list: list.clone(),
                        code: code.clone(),
                        label_vi: label_vi.clone(),
                        label_en: label_en.clone(),
                        retired: false,
                    })
                    .await?;
                eprintln!("{code} added to {list}");
            }
            CodesCommand::Retire { list, code } => {
                store.retire_code(list, code).await?;
                eprintln!("{code} of {list} retired");
            }
        }
        Ok(())
    })
}
