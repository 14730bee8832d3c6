//! Black-box tests: the real app on a random port with a fresh database (SQLite, or
//! PostgreSQL when `TEST_DATABASE_URL` says so), spoken to over HTTP only.
//! One binary for all of them: add a module here, not a file in tests/.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod audit_viewer;
mod authz;
mod care;
mod demo_activity;
mod floating_ledger;
mod geo;
mod imports_page;
mod ledger;
mod list_exports;
mod major_admission_calendar;
mod map;
mod notify;
mod open311;
mod pages;
mod redivision;
mod redivision_page;
mod registry;
mod reps;
mod request_kpis;
mod request_pages;
mod requests;
mod resident_care_pages;
mod security;
mod settings_pages;
mod visits;
