//! The notify receiver's and the terminal API's HTTP layer: one connection's worth of raw client
//! bytes (hyper's parser, pipelined requests, the whole-body deadline, routes, headers, query
//! strings, JSON bodies, the handlers) against a demo cashier on a real ledger file.
//!
//! Input: the first byte picks the listener (`N`: the notify receiver, anything else: the
//! terminal API); the rest is what the client sends. Seed inputs carry `fuzzing::API_TOKEN` so
//! the API's handlers are reached. Checked: no panic, every answer is an HTTP/1.x status line, never
//! a 500, and a notify (none can be signed here) or an API request without the token leaves the
//! ledger's bytes as they were.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use paydesk_core::fuzzing::{Listener, Listeners, API_TOKEN};
use std::sync::LazyLock;

/// Paused time: the listeners' 10 s deadlines pass as soon as nothing else is left to do.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime")
});

static LISTENERS: LazyLock<Listeners> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("paydesk-fuzz-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder for the ledger");
    let _entered = RUNTIME.enter();
    Listeners::new(&dir, common::keys()).expect("listeners")
});

fuzz_target!(|data: &[u8]| {
    let Some((&first, raw)) = data.split_first() else { return };
    let to = if first == b'N' { Listener::Notify } else { Listener::TerminalApi };
    let listeners = &*LISTENERS;
    let before = listeners.ledger_bytes();
    let answer = RUNTIME.block_on(listeners.exchange(to, raw));
    if !answer.is_empty() {
        // A request in HTTP/1.0 is answered in HTTP/1.0.
        assert!(
            answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
            "not an HTTP answer: {:?}",
            String::from_utf8_lossy(&answer)
        );
        let status = &answer[9..answer.len().min(12)];
        assert_ne!(status, b"500", "an internal error: {:?}", String::from_utf8_lossy(&answer));
    }
    let may_write = to == Listener::TerminalApi && raw.windows(API_TOKEN.len()).any(|w| w == API_TOKEN.as_bytes());
    if !may_write {
        assert_eq!(listeners.ledger_bytes(), before, "the ledger changed: {:?}", String::from_utf8_lossy(raw));
    }
});
