//! Excel in and out of the resident ledger (居民底册) and the floating-population ledger.
//!
//! - [`parse_workbook`] reads a workbook as offices keep it: the header row is found among
//!   title rows and merged group headers by the columns it names (synonyms, stray or
//!   full-width spaces, any order), every row is checked with the domain's types, and every
//!   problem is reported by row and column as a [`ProblemKind`] (the web crate words it in
//!   the reader's language). Nothing is guessed: an ID number Excel stored as a number has
//!   lost digits and is reported.
//! - [`plan_import`] resolves each row's address to nodes under the chosen node (creating
//!   missing buildings, entrances and households inside an existing compound) and matches
//!   residents by ID number, so importing the same file twice changes nothing.
//! - [`write_xlsx`], [`write_csv`] and [`template_xlsx`] write the same columns back.
//! - [`floating`] does the same for the floating-population ledger (流动人口信息登记台账),
//!   whose rows also add moves in and out to the residents' histories.
#![deny(missing_docs)]

pub mod floating;
mod parse;
mod plan;
mod problem;
pub mod vocab;
mod write;

pub use parse::{
    date_from_serial, parse_rows, parse_workbook, split_address, Address, LedgerRow, Parsed,
};
pub use plan::{plan_import, ImportPlan};
pub use problem::{LedgerError, Problem, ProblemKind};
pub use write::{resident_table, template_xlsx, write_csv, write_xlsx, Column, ExportRow, Table};

#[cfg(test)]
mod tests;
