//! New rural development (nông thôn mới, NTM): where a commune's standing
//! against the national criteria is assessed, evidenced, appraised and
//! recognised.
//!
//! - [`sets`]: the criteria sets as data (listed, read, loaded: a new
//!   period's set is a file, not code).
//! - [`layers`]: the figures agrimap computes from its layers for the
//!   indicators they can evidence, each with links to its features.
//! - [`scorecard`]: a commune's indicators for a year: value, target,
//!   verdict, where the value came from, and what an editor entered.
//! - [`files`]: evidence files (type-checked, size-limited, by SHA-256).
//! - [`workflow`]: the dossier's moves, who may make them, and its history.
//! - [`dashboard`]: the province's roll-up, kept until what it reads changes.
//!
//! Who may do what ([`Actor`]): editors enter values and submit (a commune
//! office holds an editor token of its province), planners appraise and
//! return, admins recognise and revoke; a token limited to provinces acts
//! only on their communes.

pub mod dashboard;
pub mod documents;
pub mod files;
pub mod layers;
pub mod scorecard;
pub mod sets;
pub mod workflow;

pub use crate::actor::Actor;
