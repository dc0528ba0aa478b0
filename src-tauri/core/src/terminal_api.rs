//! The local terminal API (docs/terminal-api.yaml): the store's ordering system pushes a charge,
//! waits for or polls its outcome, cancels it, and looks up past charges. The clerk or kiosk
//! screen collects the charge. Bearer-token auth; loopback unless the config says otherwise.
//!
//! Every request body is read strictly (unknown fields refused) and every refusal is JSON
//! `{error, message, message_en}` with a 4xx status, after which nothing has changed.

use crate::config::{ConfigError, TerminalApi};
use crate::engine::{Cashier, ChargeError, ChargeRequest};
use crate::i18n::{Lang, Localized};
use crate::ledger::{now_ms, Admitted, ChargeRecord, ChargeState, Origin, Tender};
use crate::listener;
use crate::money::Fen;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

/// A charge request is a few hundred bytes.
const BODY_LIMIT: usize = 16 * 1024;
const PAGE_MAX: usize = 200;

/// The bearer token. Kept as its digest: compared without early exit, never printed.
#[derive(Clone)]
pub struct Token(Arc<[u8; 32]>);

impl Token {
    pub fn new(secret: &str) -> Token {
        Token(Arc::new(Sha256::digest(secret.as_bytes()).into()))
    }

    fn matches(&self, offered: &str) -> bool {
        let offered: [u8; 32] = Sha256::digest(offered.as_bytes()).into();
        offered.iter().zip(self.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("the token file {path}: {why}")]
    Token { path: String, why: String },
    #[error("cannot listen on {addr}: {why}")]
    Bind { addr: String, why: String },
}

impl Localized for StartError {
    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (StartError::Config(e), _) => e.message(lang),
            (StartError::Token { path, why }, Lang::Zh) => format!("终端接口令牌文件 {path} 不可用：{why}"),
            (StartError::Token { path, why }, Lang::En) => format!("The terminal API token file {path}: {why}"),
            (StartError::Bind { addr, why }, Lang::Zh) => format!("终端接口无法监听 {addr}：{why}"),
            (StartError::Bind { addr, why }, Lang::En) => format!("The terminal API cannot listen on {addr}: {why}"),
        }
    }
}

/// Reads the token file, or makes one (32 random bytes as hex, readable by this user only).
pub fn load_or_make_token(path: &FsPath) -> Result<Token, StartError> {
    let fail = |why: String| StartError::Token { path: path.display().to_string(), why };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            crate::private_file::refuse_if_shared(path).map_err(fail)?;
            let secret = text.trim();
            if secret.len() < 16 || secret.len() > 256 || !secret.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(fail("16–256 visible ASCII characters expected / 应为 16 到 256 个可见字符".into()));
            }
            Ok(Token::new(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use password_hash::rand_core::{OsRng, RngCore};
            let mut bytes = [0u8; 32];
            OsRng.fill_bytes(&mut bytes);
            let secret = hex::encode(bytes);
            crate::private_file::create_new(path, format!("{secret}\n").as_bytes()).map_err(|e| fail(e.to_string()))?;
            tracing::info!(path = %path.display(), "made a terminal API token");
            Ok(Token::new(&secret))
        }
        Err(e) => Err(fail(e.to_string())),
    }
}

#[derive(Clone)]
struct Api {
    cashier: Cashier,
    token: Token,
    max_wait: Duration,
}

pub fn router(cashier: Cashier, token: Token, max_wait: Duration) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/charges", post(create).get(list))
        .route("/v1/charges/{id}", get(status))
        .route("/v1/charges/{id}/cancel", post(cancel))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Api { cashier, token, max_wait })
}

/// Binds the configured address (refused beyond loopback without the explicit setting) and
/// serves until the runtime stops.
pub async fn serve(
    cashier: Cashier,
    settings: &TerminalApi,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), StartError> {
    let addr = settings.bind_addr()?;
    let token = load_or_make_token(&cashier.config().resolve(FsPath::new(&settings.token_file)))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| StartError::Bind { addr: addr.to_string(), why: e.to_string() })?;
    let bound = listener.local_addr().map_err(|e| StartError::Bind { addr: addr.to_string(), why: e.to_string() })?;
    if !bound.ip().is_loopback() {
        tracing::warn!(%bound, "the terminal API listens beyond loopback without TLS (allow_plaintext_remote)");
    }
    tracing::info!(%bound, "terminal API listening");
    let app = router(cashier, token, Duration::from_secs(u64::from(settings.max_wait_seconds)));
    let task = tokio::spawn(listener::serve(listener, app, LIMITS, "terminal API"));
    Ok((bound, task))
}

/// The terminal API serves the store's own ERP or kiosk, a few clients each with a connection or
/// two (one may wait on a charge): 64 connections, and a slow or idle one is given back in 10 s.
pub(crate) const LIMITS: listener::Limits = listener::Limits {
    max_connections: 64,
    header_timeout: Duration::from_secs(10),
    body_timeout: Duration::from_secs(10),
    body_limit: BODY_LIMIT,
    refuse: |why| {
        let refusal = match why {
            listener::BodyRefused::Slow => Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                "slow_body",
                "请求内容未能及时收到",
                "The request body did not arrive in time",
            ),
            listener::BodyRefused::TooLarge => Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "请求内容太大",
                "The request body is too large",
            ),
            listener::BodyRefused::Broken => Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "无法读取请求内容",
                "The request body could not be read",
            ),
        };
        refusal.into_response()
    },
};

// ------------------------------------------------------------------------------------ wire types

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCharge {
    amount_fen: i64,
    external_order_id: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    tender: Option<Tender>,
    #[serde(default)]
    channel: Option<String>,
}

#[derive(Debug, Serialize)]
struct ApiPayment {
    id: String,
    channel: String,
    flow: crate::ledger::Flow,
    state: crate::ledger::State,
    wallet: Option<String>,
    channel_trade_no: Option<String>,
    paid_at_ms: Option<i64>,
    failure_code: Option<String>,
    failure_message: Option<String>,
}

#[derive(Debug, Serialize)]
struct ApiCharge {
    id: String,
    external_order_id: Option<String>,
    origin: Origin,
    amount_fen: i64,
    subject: String,
    tender: Option<Tender>,
    channel: Option<String>,
    state: ChargeState,
    #[serde(rename = "final")]
    is_final: bool,
    /// The paid attempt, else the one under way, else the last one.
    payment: Option<ApiPayment>,
    attempts: usize,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl From<&ChargeRecord> for ApiCharge {
    fn from(r: &ChargeRecord) -> ApiCharge {
        let c = &r.charge;
        ApiCharge {
            id: c.id.clone(),
            external_order_id: c.external_id.clone(),
            origin: c.origin,
            amount_fen: c.amount.0,
            subject: c.subject.clone(),
            tender: c.tender,
            channel: c.channel.clone(),
            state: c.state,
            is_final: c.state.is_final(),
            payment: r.current().map(|p| ApiPayment {
                id: p.id.clone(),
                channel: p.channel.clone(),
                flow: p.flow,
                state: p.state,
                wallet: p.wallet.clone(),
                channel_trade_no: p.channel_trade_no.clone(),
                paid_at_ms: p.paid_at,
                failure_code: p.failure_code.clone(),
                failure_message: p.failure_message.clone(),
            }),
            attempts: r.attempts.len(),
            created_at_ms: c.created_at,
            updated_at_ms: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize)]
struct ApiList {
    charges: Vec<ApiCharge>,
    /// Pass as `before` for the next (older) page; null on the last page.
    next_before: Option<String>,
}

// ----------------------------------------------------------------------------------------- errors

/// A refusal: status, stable code, and the message in both languages.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    zh: String,
    en: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Refusal {
        Refusal { status, code, zh: zh.into(), en: en.into() }
    }

    fn bad_request(zh: &str, en: &str, detail: &str) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "bad_request", format!("{zh}：{detail}"), format!("{en}: {detail}"))
    }
}

impl From<ChargeError> for Refusal {
    fn from(e: ChargeError) -> Refusal {
        let status = match e.code() {
            "conflict" | "busy" | "not_open" => StatusCode::CONFLICT,
            "not_found" => StatusCode::NOT_FOUND,
            "ledger" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Refusal::new(status, e.code(), e.message(Lang::Zh), e.message(Lang::En))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code, "message": self.zh, "message_en": self.en });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

type ApiResult = Result<Response, Refusal>;

fn authorize(api: &Api, headers: &HeaderMap) -> Result<(), Refusal> {
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match offered {
        Some(t) if api.token.matches(t) => Ok(()),
        _ => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "缺少或错误的令牌：请在 Authorization 头中带上 Bearer 令牌",
            "Missing or wrong token: send Authorization: Bearer <token>",
        )),
    }
}

fn json_body<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Refusal> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "请求体须为 JSON（Content-Type: application/json）",
            "The body must be JSON (Content-Type: application/json)",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| Refusal::bad_request("请求体不是有效的收款请求", "Not a valid request", &e.to_string()))
}

fn json(status: StatusCode, value: &impl Serialize) -> Response {
    (status, axum::Json(value)).into_response()
}

// --------------------------------------------------------------------------------------- handlers

async fn health(State(api): State<Api>, headers: HeaderMap) -> ApiResult {
    authorize(&api, &headers)?;
    let terminal = &api.cashier.config().terminal;
    Ok(json(StatusCode::OK, &serde_json::json!({ "status": "ok", "terminal": terminal.code, "name": terminal.name })))
}

async fn create(State(api): State<Api>, headers: HeaderMap, body: Bytes) -> ApiResult {
    authorize(&api, &headers)?;
    let req: CreateCharge = json_body(&headers, &body)?;
    let admitted = api.cashier.create_charge(&ChargeRequest {
        external_id: Some(&req.external_order_id),
        amount: Fen(req.amount_fen),
        subject: &req.subject,
        tender: req.tender,
        channel: req.channel.as_deref(),
        origin: Origin::Api,
    })?;
    let (status, charge) = match admitted {
        Admitted::Created(c) => (StatusCode::CREATED, c),
        Admitted::Repeated(c) => (StatusCode::OK, c),
    };
    let record = api.cashier.charge_record(&charge.id)?;
    let mut response = json(status, &ApiCharge::from(&record));
    if status == StatusCode::OK {
        response.headers_mut().insert("Idempotent-Replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    /// Seconds to wait for the charge to finish (long poll); 0 or absent answers at once.
    wait: Option<u32>,
}

async fn status(
    State(api): State<Api>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<StatusQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    authorize(&api, &headers)?;
    let Query(q) = query.map_err(|e| Refusal::bad_request("查询参数不正确", "Bad query", &e.body_text()))?;
    let wait = Duration::from_secs(u64::from(q.wait.unwrap_or(0)));
    if wait > api.max_wait {
        let max = api.max_wait.as_secs();
        return Err(Refusal::bad_request("wait 过长", "wait is too long", &format!("at most {max} s")));
    }
    let record = api.cashier.wait_charge(&id, wait).await?;
    Ok(json(StatusCode::OK, &ApiCharge::from(&record)))
}

async fn cancel(State(api): State<Api>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    authorize(&api, &headers)?;
    let record = api.cashier.cancel_charge(&id)?;
    Ok(json(StatusCode::OK, &ApiCharge::from(&record)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    external_order_id: Option<String>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    limit: Option<usize>,
    before: Option<String>,
}

async fn list(
    State(api): State<Api>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    authorize(&api, &headers)?;
    let Query(q) = query.map_err(|e| Refusal::bad_request("查询参数不正确", "Bad query", &e.body_text()))?;
    let ledger = api.cashier.ledger();
    let lookup = |e: crate::ledger::LedgerError| Refusal::from(ChargeError::from(e));
    if let Some(ext) = q.external_order_id {
        let found = ledger.charge_by_external(&ext).map_err(lookup)?;
        let charges = match found {
            Some(c) => vec![ApiCharge::from(&ledger.charge_record(&c.id).map_err(lookup)?)],
            None => Vec::new(),
        };
        return Ok(json(StatusCode::OK, &ApiList { charges, next_before: None }));
    }
    // Every bound is checked before any arithmetic on it: a time is ms since the epoch, from 1970
    // to the year 9999.
    const LAST_MS: i64 = 253_402_300_799_999;
    let in_range = |t: Option<i64>| t.is_none_or(|t| (0..=LAST_MS).contains(&t));
    let limit = q.limit.unwrap_or(50);
    if !in_range(q.from_ms) || !in_range(q.to_ms) || !(1..=PAGE_MAX).contains(&limit) {
        return Err(Refusal::bad_request(
            "查询范围不正确",
            "Bad range",
            &format!("from_ms and to_ms 0–{LAST_MS}, limit 1–{PAGE_MAX}"),
        ));
    }
    let to = q.to_ms.unwrap_or_else(|| now_ms() + 1);
    let from = q.from_ms.unwrap_or(to.saturating_sub(24 * 3_600_000));
    if from >= to {
        return Err(Refusal::bad_request("查询范围不正确", "Bad range", "from_ms < to_ms"));
    }
    let before = match q.before.as_deref() {
        Some(id) => Some((ledger.charge(id).map_err(lookup)?.created_at, id)),
        None => None,
    };
    let page = ledger.charges_page(from, to, before, limit).map_err(lookup)?;
    let next_before = (page.len() == limit).then(|| page.last().map(|r| r.charge.id.clone())).flatten();
    let charges = page.iter().map(ApiCharge::from).collect();
    Ok(json(StatusCode::OK, &ApiList { charges, next_before }))
}

async fn not_found() -> Refusal {
    Refusal::new(StatusCode::NOT_FOUND, "no_route", "没有这个接口", "No such endpoint")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_itself_and_never_prints() {
        let t = Token::new("0123456789abcdef0123");
        assert!(t.matches("0123456789abcdef0123"));
        assert!(!t.matches("0123456789abcdef0124"));
        assert!(!t.matches(""));
        assert_eq!(format!("{t:?}"), "Token(…)");
    }

    #[test]
    fn a_token_file_is_made_private_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.token");
        let made = load_or_make_token(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        assert!(made.matches(text.trim()));
        assert!(load_or_make_token(&path).unwrap().matches(text.trim()), "the same token after a restart");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            // Readable by others: refused at start, naming the file and the fix, as ssh does.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            let Err(err) = load_or_make_token(&path) else { panic!("a shared token was accepted") };
            let zh = err.message(Lang::Zh);
            assert!(zh.contains("api.token") && zh.contains("chmod 600"), "{zh}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, "short\n").unwrap();
        assert!(matches!(load_or_make_token(&path), Err(StartError::Token { .. })));
    }
}
