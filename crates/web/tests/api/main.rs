//! Black-box tests: the real app on a random port with a fresh database (SQLite, or
//! PostgreSQL when `TEST_DATABASE_URL` says so), spoken to over HTTP only.
//! One binary for all of them: add a module here, not a file in tests/.

mod helpers;

mod authz;
mod pages;
mod registry;
mod security;
