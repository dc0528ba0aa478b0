//! paysvc: one reply, read as the answer to create (the `formHtml` payment form, read but never
//! run) and to the status query.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use paydesk_core::channel::paysvc::{HostedForm, PaysvcChannel};
use paydesk_core::channel::{CreateOutcome, Order, PayOutcome};
use paydesk_core::fuzzing::{paysvc_channel, paysvc_reply};
use paydesk_core::ledger::Flow;
use paydesk_core::money::Fen;
use std::sync::LazyLock;

const ORDER: Order<'static> =
    Order { id: "DEMO012611221030000001", amount: Fen(100), subject: "", merchant: "", method: None, flow: Flow::Qr };
const HOSTS: &[&str] = &["openapi.alipay.com", "127.0.0.1"];

static SVC: LazyLock<PaysvcChannel> = LazyLock::new(|| paysvc_channel(HOSTS).expect("paysvc channel"));

fuzz_target!(|data: &[u8]| {
    let input = common::reply_input(data, false);
    let (status, body) = (input.status, input.body);
    let out = paysvc_reply(&SVC, status, body, &ORDER);
    let answered = (200..300).contains(&status) || status == 500;
    if !answered {
        assert!(matches!(out.create, CreateOutcome::Unknown(_)) && matches!(out.status, PayOutcome::Unknown(_)));
    }
    if let CreateOutcome::Created { payload } = &out.create {
        assert!((200..300).contains(&status));
        let form: HostedForm = serde_json::from_str(payload).expect("the payload is a form");
        let url = url_host(&form.action);
        assert!(HOSTS.iter().any(|h| h.eq_ignore_ascii_case(&url)), "form posts to {}", form.action);
        assert!(form.method == "post" || form.method == "get");
    }
    if let PayOutcome::Paid { .. } = &out.status {
        assert!((200..300).contains(&status) && common::json_names(body, ORDER.id));
    }

    // The form reader on its own, as HTML of any kind.
    if let Ok(html) = std::str::from_utf8(body) {
        let hosts: Vec<String> = HOSTS.iter().map(|h| h.to_string()).collect();
        if let Ok(form) = paydesk_core::channel::paysvc::read_form(html, &hosts) {
            let host = url_host(&form.action);
            assert!(HOSTS.iter().any(|h| h.eq_ignore_ascii_case(&host)), "form posts to {}", form.action);
            let page = form.to_html("¥1.00");
            assert_eq!(page.matches("<script>").count(), 1, "a value broke out of our page");
        }
    }
});

/// The host of an absolute URL, read by hand (independently of the core's URL parser).
fn url_host(action: &str) -> String {
    let rest = action.split_once("://").map_or("", |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host.to_ascii_lowercase()
}
