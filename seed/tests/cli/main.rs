//! The `clearance-seed` binary, run as a process against temp files, the embedded store (in a temp
//! directory), dynalite, a proxy that makes dynalite leave writes unprocessed, and the real
//! permissions API on 127.0.0.1:0. One test binary; a module per area.

mod api;
mod dynamodb;
mod formats;
mod help;
mod helpers;
mod interrupt;
mod modes;
mod proxy;
mod replace_all_invalid;
mod retry;
mod validation;
