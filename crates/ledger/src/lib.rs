//! Excel in and out of the resident ledger (居民底册) and the floating-population ledger.
//!
//! - [`parse_workbook`] reads a workbook as offices keep it: the header row is found among
//!   title rows and merged group headers by the columns it names (synonyms, stray or
//!   full-width spaces, any order), every row is checked with the domain's types, and every
//!   problem is reported by row and column with a Chinese reason. Nothing is guessed: an ID
//!   number Excel stored as a number has lost digits and is reported.
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
pub mod vocab;
mod write;

pub use parse::{
    date_from_serial, parse_rows, parse_workbook, split_address, Address, LedgerRow, Parsed,
};
pub use plan::{plan_import, ImportPlan};
pub use write::{template_xlsx, write_csv, write_xlsx, ExportRow};

/// One problem of an import: where, and why (in Chinese, for the person who fixes the file).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Problem {
    /// The row as Excel numbers it (1-based); 0 for the file as a whole.
    pub row: u32,
    /// The column's header as the file writes it.
    pub column: String,
    /// What is wrong, in Chinese.
    pub message: String,
}

/// Why a workbook cannot be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    /// Not a workbook calamine can open.
    #[error("无法读取该文件，请上传 Excel 工作簿（.xlsx）：{0}")]
    Unreadable(String),
    /// The workbook has no worksheet.
    #[error("工作簿中没有工作表")]
    NoSheet,
    /// No row names enough known columns.
    #[error("找不到表头行：前 30 行中没有一行包含姓名、身份证号、房号等列名")]
    NoHeader,
    /// The header row lacks required columns.
    #[error("表头缺少必需的列：{0}")]
    MissingColumns(String),
    /// Writing a workbook failed.
    #[error("无法生成 Excel 文件：{0}")]
    Write(String),
}

#[cfg(test)]
mod tests;
