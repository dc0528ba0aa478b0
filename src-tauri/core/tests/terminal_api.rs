//! The terminal API over real HTTP on loopback, with a cashier on a real SQLite file collecting
//! charges from a real sandbox: create, collect, outcome; idempotent repeats; cancel while the
//! customer still has the QR; refusals that change nothing; the loopback-only rule.

mod common;

use common::{alipay_code, fast_sandbox, rig_with, Rig};
use paydesk_core::config::TerminalApi;
use paydesk_core::engine::BasketItem;
use paydesk_core::ledger::{State, Tender};
use paydesk_core::scan::{Scan, ScanHub, ScanOutcome, ScanSource};
use serde_json::{json, Value};

struct Api {
    rig: Rig,
    base: String,
    token: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn api_with(tweak: impl FnOnce(&mut TerminalApi)) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("api.token").display().to_string();
    let mut settings = TerminalApi { listen: "127.0.0.1:0".into(), token_file, ..TerminalApi::default() };
    tweak(&mut settings);
    let for_config = settings.clone();
    let rig = rig_with(fast_sandbox(), move |c| c.terminal_api = Some(for_config)).await;
    let (addr, _task) = paydesk_core::terminal_api::serve(rig.cashier.clone(), &settings).await.expect("API starts");
    let token = std::fs::read_to_string(dir.path().join("api.token")).unwrap().trim().to_string();
    Api { rig, base: format!("http://{addr}"), token, http: reqwest::Client::new(), _dir: dir }
}

async fn api() -> Api {
    api_with(|_| {}).await
}

impl Api {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value, reqwest::header::HeaderMap) {
        let r =
            self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body).send().await.unwrap();
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        (status, r.json().await.unwrap(), headers)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn create(&self, order: &str, fen: i64) -> Value {
        let (status, body, _) = self
            .post("/v1/charges", &json!({ "amount_fen": fen, "external_order_id": order, "subject": "午餐" }))
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Every charge the API knows of in the last day.
    async fn all(&self) -> Vec<Value> {
        let (status, body) = self.get("/v1/charges?limit=200").await;
        assert_eq!(status, 200, "{body}");
        body["charges"].as_array().unwrap().clone()
    }
}

fn id(charge: &Value) -> String {
    charge["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_pushed_charge_is_collected_by_qr_and_its_outcome_waited_for() {
    let api = api().await;
    let charge = api.create("ERP-1001", 2350).await;
    assert_eq!((charge["state"].as_str(), charge["final"].as_bool()), (Some("open"), Some(false)));
    assert_eq!(charge["amount_fen"], 2350);

    // The screen collects it: a QR on lakala for the charge's own amount.
    let p = api.rig.cashier.start_qr_for_charge(&id(&charge), "lakala", None).await.unwrap();
    assert_eq!((p.amount.0, p.state, p.charge_id.clone()), (2350, State::Pending, Some(id(&charge))));
    let (_, paying) = api.get(&format!("/v1/charges/{}", id(&charge))).await;
    assert_eq!(paying["state"], "paying");
    assert_eq!(paying["payment"]["id"], p.id.as_str());

    // The caller waits (long poll) while the customer pays.
    let waiter = {
        let (http, url, token) =
            (api.http.clone(), format!("{}/v1/charges/{}?wait=10", api.base, id(&charge)), api.token.clone());
        tokio::spawn(async move { http.get(url).bearer_auth(token).send().await.unwrap().json::<Value>().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    api.rig.sandbox.customer_pay(&p.id).unwrap();
    let done = waiter.await.unwrap().unwrap();
    assert_eq!((done["state"].as_str(), done["final"].as_bool()), (Some("paid"), Some(true)), "{done}");
    assert_eq!(done["payment"]["state"], "paid");
    assert_eq!(done["attempts"], 1);
    api.rig.assert_matches_truth();
    assert_eq!(api.rig.sandbox.truth().charges.len(), 1);

    // Paid is final: no second attempt, and a cancel changes nothing.
    assert_eq!(api.rig.cashier.start_qr_for_charge(&id(&charge), "lakala", None).await.unwrap_err().code(), "ledger");
    let (status, after, _) = api.post(&format!("/v1/charges/{}/cancel", id(&charge)), &json!({})).await;
    assert_eq!((status, after["state"].as_str()), (200, Some("paid")));
}

#[tokio::test]
async fn the_same_order_id_never_makes_a_second_charge() {
    let api = api_with(|a| a.max_open_charges = 5).await;
    let first = api.create("ERP-7", 1200).await;
    let body = json!({ "amount_fen": 1200, "external_order_id": "ERP-7", "subject": "午餐" });
    let (status, again, headers) = api.post("/v1/charges", &body).await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));

    let changed = json!({ "amount_fen": 1300, "external_order_id": "ERP-7", "subject": "午餐" });
    let (status, refused, _) = api.post("/v1/charges", &changed).await;
    assert_eq!((status, refused["error"].as_str()), (409, Some("conflict")), "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("ERP-7"));

    let (_, found) = api.get("/v1/charges?external_order_id=ERP-7").await;
    assert_eq!(found["charges"].as_array().unwrap().len(), 1);
    assert_eq!(found["charges"][0]["amount_fen"], 1200);
    assert_eq!(api.all().await.len(), 1);

    // Repeats at the same moment still make one charge.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, url, token) = (api.http.clone(), format!("{}/v1/charges", api.base), api.token.clone());
        let body = json!({ "amount_fen": 500, "external_order_id": "ERP-8" });
        tasks.push(tokio::spawn(async move { http.post(url).bearer_auth(token).json(&body).send().await.unwrap() }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(matches!(r.status().as_u16(), 200 | 201));
        ids.insert(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(api.all().await.len(), 2);
}

#[tokio::test]
async fn cancelling_while_the_customer_has_the_qr_closes_it_at_the_channel() {
    let api = api().await;
    let charge = api.create("ERP-9", 990).await;
    let p = api.rig.cashier.start_qr_for_charge(&id(&charge), "lakala", None).await.unwrap();
    assert_eq!(p.state, State::Pending);

    let (status, cancelling, _) = api.post(&format!("/v1/charges/{}/cancel", id(&charge)), &json!({})).await;
    assert_eq!(status, 200);
    assert!(matches!(cancelling["state"].as_str(), Some("cancelling" | "cancelled")), "{cancelling}");
    let (_, done) = api.get(&format!("/v1/charges/{}?wait=10", id(&charge))).await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert_eq!(done["payment"]["state"], "closed");

    let closed = api.rig.cashier.ledger().payment(&p.id).unwrap();
    assert_eq!(closed.state, State::Closed);
    assert!(api.rig.sandbox.customer_pay(&p.id).is_err(), "the QR no longer pays at the channel");
    assert!(api.rig.sandbox.truth().charges.is_empty());
    assert_eq!(api.rig.cashier.start_qr_for_charge(&id(&charge), "lakala", None).await.unwrap_err().code(), "ledger");

    // The till is free again for the next order.
    api.create("ERP-10", 100).await;
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_change_nothing() {
    let api = api().await;
    let url = format!("{}/v1/charges", api.base);
    let good = json!({ "amount_fen": 100, "external_order_id": "ERP-1" });

    let no_token = api.http.post(&url).json(&good).send().await.unwrap();
    assert_eq!(no_token.status().as_u16(), 401);
    assert_eq!(no_token.headers().get("www-authenticate").unwrap(), "Bearer");
    let wrong = api.http.post(&url).bearer_auth("0".repeat(64)).json(&good).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "unauthorized");
    let listing = api.http.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(listing.status().as_u16(), 401);

    let send_raw = |body: &'static str, content_type: &'static str| {
        let (http, url, token) = (api.http.clone(), url.clone(), api.token.clone());
        async move {
            let r =
                http.post(url).bearer_auth(token).header("content-type", content_type).body(body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send_raw("{\"amount_fen\": 100, \"external_order_id\": ", "application/json").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
    let (status, body) = send_raw(r#"{"amount_fen":100,"external_order_id":"X","tip":5}"#, "application/json").await;
    assert_eq!(status, 400);
    assert!(body["message_en"].as_str().unwrap().contains("unknown field `tip`"), "{body}");
    let (status, _) = send_raw(r#"{"amount_fen":12.5,"external_order_id":"X"}"#, "application/json").await;
    assert_eq!(status, 400, "fen are integers");
    let (status, _) = send_raw(r#"{"amount_fen":"100","external_order_id":"X"}"#, "application/json").await;
    assert_eq!(status, 400, "not a string");
    let (status, body) = send_raw(r#"{"amount_fen":100,"external_order_id":"X"}"#, "text/plain").await;
    assert_eq!((status, body["error"].as_str()), (415, Some("content_type")));

    for (body, code) in [
        (json!({ "amount_fen": 5_000_001, "external_order_id": "X" }), "amount"),
        (json!({ "amount_fen": 0, "external_order_id": "X" }), "amount"),
        (json!({ "amount_fen": -100, "external_order_id": "X" }), "amount"),
        (json!({ "amount_fen": 100, "external_order_id": "" }), "external_order_id"),
        (json!({ "amount_fen": 100, "external_order_id": "a\u{7}b" }), "external_order_id"),
        // A right-to-left override shows another order number than the one stored.
        (json!({ "amount_fen": 100, "external_order_id": "ERP-\u{202E}1001" }), "external_order_id"),
        (json!({ "amount_fen": 100, "external_order_id": "X", "subject": "午餐\u{2066}¥1\u{2069}" }), "subject"),
        (json!({ "amount_fen": 100, "external_order_id": "X", "subject": "zero\u{200B}width" }), "subject"),
        (json!({ "amount_fen": 100, "external_order_id": "X", "channel": "visa" }), "unknown_channel"),
        (json!({ "amount_fen": 100, "external_order_id": "X", "channel": "paysvc", "tender": "code" }), "not_offered"),
    ] {
        let (status, refused, _) = api.post("/v1/charges", &body).await;
        assert_eq!((status, refused["error"].as_str()), (422, Some(code)), "{body} -> {refused}");
        assert!(
            !refused["message"].as_str().unwrap().is_empty() && !refused["message_en"].as_str().unwrap().is_empty()
        );
    }
    let (status, over, _) =
        api.post("/v1/charges", &json!({ "amount_fen": 5_000_001, "external_order_id": "X" })).await;
    assert_eq!(status, 422);
    assert!(over["message"].as_str().unwrap().contains("50000.00"), "the ceiling is named: {over}");

    let (status, _) = api.get("/v1/charges/NOPE").await;
    assert_eq!(status, 404);
    let (status, _) = api.get("/v1/charges/NOPE?wait=abc").await;
    assert_eq!(status, 400);
    let (status, _) = api.get("/v1/charges?limit=0").await;
    assert_eq!(status, 400);
    let (status, _) = api.get("/v1/refunds").await;
    assert_eq!(status, 404);

    assert!(api.all().await.is_empty(), "nothing was recorded");
    assert!(api.rig.cashier.ledger().unfinished_charges().unwrap().is_empty());
}

#[tokio::test]
async fn one_unfinished_charge_at_a_time_and_a_failed_attempt_can_be_retried() {
    let api = api().await;
    let charge = api.create("ERP-20", 1500).await;
    let (status, busy, _) = api.post("/v1/charges", &json!({ "amount_fen": 100, "external_order_id": "ERP-21" })).await;
    assert_eq!((status, busy["error"].as_str()), (409, Some("busy")), "{busy}");

    // The screen arms the scanners with the charge; the customer's wallet lacks funds (x91).
    let hub = ScanHub::new(api.rig.cashier.clone());
    hub.arm("abc", "", Some(&id(&charge))).unwrap();
    let scanned = hub.submit(Scan::now(alipay_code("91"), ScanSource::Serial));
    let ScanOutcome::Charging { payment } = scanned.outcome else { panic!("{scanned:?}") };
    let failed = api.rig.cashier.wait_settled(&payment.id).await.unwrap().payment;
    assert_eq!((failed.state, failed.amount.0), (State::Failed, 1500));
    let (_, open) = api.get(&format!("/v1/charges/{}", id(&charge))).await;
    assert_eq!((open["state"].as_str(), open["payment"]["state"].as_str()), (Some("open"), Some("failed")));

    // Try again with another code; the same code read twice at once starts one payment.
    hub.arm("abc", "", Some(&id(&charge))).unwrap();
    let code = alipay_code("10");
    let first = hub.submit(Scan::now(code.clone(), ScanSource::Serial));
    let second = hub.submit(Scan::now(code, ScanSource::Camera));
    assert!(matches!(second.outcome, ScanOutcome::Duplicate), "{second:?}");
    let ScanOutcome::Charging { payment } = first.outcome else { panic!("{first:?}") };
    assert_eq!(api.rig.cashier.wait_settled(&payment.id).await.unwrap().payment.state, State::Paid);
    let (_, paid) = api.get(&format!("/v1/charges/{}", id(&charge))).await;
    assert_eq!((paid["state"].as_str(), paid["attempts"].as_u64()), (Some("paid"), Some(2)));
    assert!(hub.arm("abc", "", Some(&id(&charge))).is_err(), "a paid charge cannot be armed again");
    api.rig.assert_matches_truth();
    assert_eq!(api.rig.sandbox.truth().charges.len(), 1);
}

#[tokio::test]
async fn past_charges_page_newest_first() {
    let api = api().await;
    for n in 0..5 {
        let charge = api.create(&format!("ERP-P{n}"), 100 + n).await;
        api.post(&format!("/v1/charges/{}/cancel", id(&charge)), &json!({})).await;
    }
    let (_, page1) = api.get("/v1/charges?limit=2").await;
    let amounts = |p: &Value| {
        p["charges"].as_array().unwrap().iter().map(|c| c["amount_fen"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(amounts(&page1), [104, 103]);
    let next = page1["next_before"].as_str().unwrap();
    let (_, page2) = api.get(&format!("/v1/charges?limit=2&before={next}")).await;
    assert_eq!(amounts(&page2), [102, 101]);
    let (_, page3) = api.get(&format!("/v1/charges?limit=2&before={}", page2["next_before"].as_str().unwrap())).await;
    assert_eq!(amounts(&page3), [100]);
    assert!(page3["next_before"].is_null());
    // Bounds at the edges of i64 and past the calendar are refused with a 400, never a panic; the
    // listener still answers after them.
    for bad in [
        "to_ms=-9223372036854775808",
        "from_ms=-9223372036854775808",
        "to_ms=9223372036854775807",
        "from_ms=-1",
        "from_ms=5&to_ms=5",
        "limit=0",
        "limit=18446744073709551615",
    ] {
        let (status, body) = api.get(&format!("/v1/charges?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = api.get("/v1/charges?to_ms=253402300799999").await;
    assert_eq!(status, 200);
    assert_eq!(amounts(&api.get("/v1/charges?limit=1").await.1), [104]);
}

#[tokio::test]
async fn a_listener_beyond_loopback_needs_the_explicit_setting() {
    let api = api().await;
    let remote = TerminalApi {
        listen: "0.0.0.0:0".into(),
        token_file: api._dir.path().join("api.token").display().to_string(),
        ..TerminalApi::default()
    };
    let err = paydesk_core::terminal_api::serve(api.rig.cashier.clone(), &remote).await.unwrap_err();
    assert!(err.to_string().contains("terminal_api.listen"), "{err}");
    let allowed = TerminalApi { allow_plaintext_remote: true, ..remote };
    let (addr, task) = paydesk_core::terminal_api::serve(api.rig.cashier.clone(), &allowed).await.unwrap();
    assert!(addr.ip().is_unspecified());
    task.abort();
    // The config itself refuses it too, so the app never starts that way by accident.
    let mut config = api.rig.cashier.config().clone();
    config.terminal_api = Some(TerminalApi { listen: "192.168.1.20:8787".into(), ..TerminalApi::default() });
    assert!(config.validate().is_err());
}

/// The kiosk's channel: the configured one, else the first by id that shows its own QR and takes
/// the first tender; the screen offers only the tenders that channel takes.
#[tokio::test]
async fn the_kiosk_pays_on_its_channel_with_the_tenders_it_takes() {
    let pick = |channel: Option<&str>, tenders: Vec<Tender>| {
        let channel = channel.map(String::from);
        async move {
            let rig = rig_with(fast_sandbox(), |c| {
                c.kiosk.channel = channel;
                c.kiosk.tenders = tenders;
            })
            .await;
            let chosen = rig.cashier.kiosk_channel();
            chosen.map(|ch| (ch.id(), rig.cashier.kiosk_tenders(ch.as_ref())))
        }
    };
    // Not configured: abc, the first channel by id that draws a QR and takes both.
    assert_eq!(pick(None, vec![Tender::Qr, Tender::Code]).await, Some(("abc", vec![Tender::Qr, Tender::Code])));
    // The desk takes no payment code: the kiosk offers only its QR.
    assert_eq!(pick(Some("cashdesk"), vec![Tender::Code, Tender::Qr]).await, Some(("cashdesk", vec![Tender::Qr])));
    // paysvc opens a window of its own rather than showing a QR, but configured it is used.
    assert_eq!(pick(Some("paysvc"), vec![Tender::Qr]).await, Some(("paysvc", vec![Tender::Qr])));
    assert_eq!(pick(Some("nope"), vec![Tender::Qr]).await, None);
}

#[tokio::test]
async fn a_kiosk_basket_is_added_up_by_the_core() {
    let api = api().await;
    let item = |id: &str, qty: u32| BasketItem { id: id.into(), qty };
    let (total, subject) = api.rig.cashier.quote(&[item("coffee", 2), item("bun", 3)]).unwrap();
    assert_eq!(total.0, 2 * 1200 + 3 * 300);
    assert_eq!(subject, "咖啡×2, 包子×3");
    for (basket, code) in [
        (vec![], "basket"),
        (vec![item("caviar", 1)], "basket"),
        (vec![item("coffee", 0)], "basket"),
        (vec![item("coffee", 100)], "basket"),
    ] {
        assert_eq!(api.rig.cashier.quote(&basket).unwrap_err().code(), code, "{basket:?}");
    }
    let order = api.rig.cashier.kiosk_order(&[item("tea", 1)]).unwrap();
    assert_eq!((order.charge.amount.0, order.charge.external_id.clone()), (950, None));
    // A kiosk order is a charge like any other: the API sees it, and it keeps the till busy.
    let listed = api.all().await;
    assert_eq!(listed[0]["origin"], "kiosk");
    let (status, _, _) = api.post("/v1/charges", &json!({ "amount_fen": 100, "external_order_id": "ERP-K" })).await;
    assert_eq!(status, 409);
}
