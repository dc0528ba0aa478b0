//! Reconciliation: one business day of one channel checked against the channel's own record (a
//! downloaded or imported statement, or a sweep of queries where the channel publishes none).
//!
//! - `statement`: the normalised rows every source is read into.
//! - `bills`: the statement files' formats (Alipay's GBK zip, WeChat Pay's backtick text, our CSV).
//! - `compare`: the ledger's day against the rows, into differences by kind (pure logic).
//!
//! This module never calls a channel and never writes the ledger: the engine does both.

pub mod bills;
pub mod compare;
pub mod statement;
