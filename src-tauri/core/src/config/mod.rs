//! The config file (TOML). Read strictly: unknown keys and malformed values are errors that name
//! the key, so a typo never silently falls back to a default.

use crate::i18n::{Lang, Localized};
use crate::money::Fen;
use crate::paycode::{default_rules, CodeRule};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod channels;
mod front;
mod printer;
mod scanners;
mod sync;
pub use channels::*;
pub use front::*;
pub use printer::*;
pub use scanners::*;
pub use sync::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Language of the window and the command line: `zh` (default) or `en`.
    #[serde(default)]
    pub language: Lang,
    pub terminal: Terminal,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub timing: Timing,
    #[serde(default)]
    pub ledger: LedgerConfig,
    #[serde(default)]
    pub business_day: BusinessDay,
    /// The daily reconciliation run.
    #[serde(default)]
    pub reconciliation: Reconciliation,
    /// Signing in, the idle lock and PIN lock-out.
    #[serde(default)]
    pub people: People,
    #[serde(default = "default_rules")]
    pub payment_codes: Vec<CodeRule>,
    /// Channels by id. Only `abc` exists so far.
    pub channels: Channels,
    /// Serial, keyboard-wedge and camera scanners.
    #[serde(default)]
    pub scanners: Scanners,
    /// The local listener for channel notifies; off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyConfig>,
    /// The local terminal API for the store's ordering system; off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_api: Option<TerminalApi>,
    #[serde(default)]
    pub counter: Counter,
    #[serde(default)]
    pub kiosk: Kiosk,
    /// The customer display (second screen); its welcome and logo are also the kiosk's.
    #[serde(default)]
    pub display: CustomerDisplay,
    /// The chain's server this till sends its ledger to; off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncConfig>,
    /// The receipt printer; off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<PrinterConfig>,
    /// Present only in the demo profile: the app starts the bundled sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo: Option<Demo>,
    /// The config file's directory: relative paths in the config (keys, ledger) start here.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Where channels that can reach the store post their payment notifies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Address and port to listen on, e.g. `0.0.0.0:8089`. Each channel's `notify_url` must reach
    /// `http(s)://<this host>/notify/<channel id>` (through the store's reverse proxy for https).
    pub listen: String,
}

impl NotifyConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen
            .parse::<std::net::SocketAddr>()
            .map(|_| ())
            .map_err(|_| invalid("notify.listen", "an address and port like 0.0.0.0:8089 / 地址和端口"))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terminal {
    /// 1–8 letters or digits; every order number starts with it, so it must be unique per store.
    pub code: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest amount of one payment, yuan text (`"50000.00"`).
    pub ceiling: String,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { ceiling: crate::money::DEFAULT_CEILING.yuan_text() }
    }
}

/// Every wait of the engine, in milliseconds, so tests can run them fast.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// First query after a barcode payment answered "user paying" or unknown.
    pub barcode_first_poll_ms: u64,
    pub barcode_poll_interval_ms: u64,
    /// How long the clerk waits for a barcode payment before it is cancelled (or, where the
    /// channel cannot cancel, reported as not confirmed).
    pub barcode_deadline_ms: u64,
    pub qr_poll_interval_ms: u64,
    /// How long a QR code is shown. Never longer than the channel's own expiry.
    pub qr_timeout_ms: u64,
    /// After the clerk stops waiting on a channel that cannot cancel, how long the engine keeps
    /// querying at the poll interval before leaving the payment to the recovery sweep; also how
    /// long "order not found" is treated as "not there yet".
    pub late_horizon_ms: u64,
    pub recovery_interval_ms: u64,
    /// Pause between cancel/close attempts while the channel says "retry".
    pub cancel_retry_ms: u64,
    /// A lapsed payment (unpaid past its horizon on a channel that cannot close it) is queried
    /// this long after its lapse, then at doubling intervals up to `lapsed_recheck_max_ms`, for
    /// the channel's watch (`lapse_watch_ms`); the same pauses space the queries of a payment
    /// the clerk gave up on.
    pub lapsed_recheck_ms: u64,
    pub lapsed_recheck_max_ms: u64,
}

impl Timing {
    /// A payment's whole life in a second or two, for a sandbox whose "minute" is short: the
    /// integration tests and the chaos harness.
    pub fn quick() -> Timing {
        Timing {
            barcode_first_poll_ms: 100,
            barcode_poll_interval_ms: 100,
            barcode_deadline_ms: 1_500,
            qr_poll_interval_ms: 100,
            qr_timeout_ms: 1_500,
            late_horizon_ms: 3_000,
            recovery_interval_ms: 500,
            cancel_retry_ms: 100,
            lapsed_recheck_ms: 300,
            lapsed_recheck_max_ms: 1_200,
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            barcode_first_poll_ms: 3_000,
            barcode_poll_interval_ms: 3_000,
            barcode_deadline_ms: 60_000,
            qr_poll_interval_ms: 2_000,
            qr_timeout_ms: 300_000,
            late_horizon_ms: 180_000,
            recovery_interval_ms: 60_000,
            cancel_retry_ms: 2_000,
            lapsed_recheck_ms: 60_000,
            lapsed_recheck_max_ms: 3_600_000,
        }
    }
}

impl Timing {
    pub fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// The SQLite file; default `ledger.db` beside the config file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessDay {
    /// Hour (0–23, local time) at which one business day ends and the next begins.
    pub cutoff_hour: u32,
}

impl Default for BusinessDay {
    fn default() -> Self {
        BusinessDay { cutoff_hour: 4 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconciliation {
    /// Reconcile the previous days of every channel by itself each morning, once this hour
    /// (0–23, Beijing time, when the wallets' bills are ready) has passed.
    pub auto: bool,
    pub hour: u32,
    /// How many past days a morning run makes up for (a till that was off, a bill that was late).
    pub catch_up_days: u32,
    /// The fee rate each channel's contract says, in basis points (`alipay = 60`: 0.6 %): a
    /// statement's fee on a payment that is more than a fen off it is a difference. None: fees
    /// are only totalled.
    #[serde(default)]
    pub fee_rate_bp: std::collections::BTreeMap<String, u32>,
}

impl Default for Reconciliation {
    fn default() -> Self {
        Reconciliation { auto: true, hour: 10, catch_up_days: 3, fee_rate_bp: Default::default() }
    }
}

/// The demo profile's users: name, role, PIN. Shown on the demo's sign-in screen; never on a
/// real profile.
pub const DEMO_USERS: &[(&str, crate::ledger::Role, &str)] =
    &[("王店长", crate::ledger::Role::Manager, "1234"), ("李收银", crate::ledger::Role::Clerk, "0000")];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct People {
    /// Once a user exists, nothing is taken without someone signed in.
    pub require_sign_in: bool,
    /// The window locks after this long without a key or touch (0: never).
    pub idle_lock_minutes: u32,
    /// Wrong PINs in a row that lock a user…
    pub max_wrong_pins: u32,
    /// …for this long.
    pub lockout_minutes: u32,
}

impl Default for People {
    fn default() -> Self {
        People { require_sign_in: true, idle_lock_minutes: 5, max_wrong_pins: 5, lockout_minutes: 15 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Demo {
    /// The loopback port of the sandbox the app starts; the channels' `base_url` point at it.
    pub sandbox_port: u16,
    /// The sandbox pays shown QR codes by itself after this long (0: only by its customer page).
    #[serde(default)]
    pub auto_pay_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {why}")]
    Read { path: String, why: String },
    #[error("the config file {path} is not valid: {why}")]
    Parse { path: String, why: String },
    #[error("config key `{key}` is not valid: {why}")]
    Invalid { key: String, why: String },
    #[error("cannot write the config file {path}: {why}")]
    Write { path: String, why: String },
    #[error("the config file {config} is missing but the ledger {ledger} exists")]
    LedgerWithoutConfig { config: String, ledger: String },
}

impl Localized for ConfigError {
    fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (ConfigError::Read { path, why }, Lang::Zh) => format!("无法读取配置文件 {path}：{why}"),
            (ConfigError::Read { path, why }, Lang::En) => format!("Cannot read the config file {path}: {why}"),
            (ConfigError::Parse { path, why }, Lang::Zh) => format!("配置文件 {path} 格式有误：{why}"),
            (ConfigError::Parse { path, why }, Lang::En) => format!("The config file {path} is not valid: {why}"),
            (ConfigError::Invalid { key, why }, Lang::Zh) => format!("配置项 {key} 有误：{why}"),
            (ConfigError::Invalid { key, why }, Lang::En) => format!("Config key {key} is not valid: {why}"),
            (ConfigError::Write { path, why }, Lang::Zh) => format!("无法写入配置文件 {path}：{why}"),
            (ConfigError::Write { path, why }, Lang::En) => format!("Cannot write the config file {path}: {why}"),
            (ConfigError::LedgerWithoutConfig { config, ledger }, Lang::Zh) => {
                format!("找不到配置文件 {config}，但账本 {ledger} 已存在。请恢复配置文件后再启动（不会改用演示配置）。")
            }
            (ConfigError::LedgerWithoutConfig { config, ledger }, Lang::En) => format!(
                "The config file {config} is missing but the ledger {ledger} exists. Restore the config and start again (the demo profile is not used)."
            ),
        }
    }
}

/// Writes through a temp file and a rename, so a crash never leaves half a config; a new config
/// is this user's only (it holds channel keys), a rewritten one keeps its mode.
fn write_atomically(path: &Path, text: &str) -> Result<(), ConfigError> {
    crate::private_file::write_atomically(path, text.as_bytes())
        .map_err(|e| ConfigError::Write { path: path.display().to_string(), why: e.to_string() })
}

impl Config {
    /// Rewrites one section of the config file (`None` removes it), keeping every other line and
    /// comment as the store wrote it. The new file must load as a whole before it replaces the
    /// old one, so a bad value changes nothing.
    fn save_section(path: &Path, name: &str, value: Option<toml::Value>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.display().to_string(), why: e.to_string() })?;
        let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| ConfigError::Parse {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        match value {
            Some(value) => {
                let section = toml::to_string(&toml::Table::from_iter([(name.to_string(), value)]))
                    .map_err(|e| invalid(name, e.to_string()))?;
                let fresh: toml_edit::DocumentMut =
                    section.parse().map_err(|e: toml_edit::TomlError| invalid(name, e.to_string()))?;
                if let Some(item) = fresh.get(name) {
                    doc.insert(name, item.clone());
                }
            }
            None => {
                doc.remove(name);
            }
        }
        let new_text = doc.to_string();
        let config = Config::parse(&new_text, path)?;
        write_atomically(path, &new_text)?;
        Ok(config)
    }
}

/// No wait in the config may exceed a day (keeps every deadline far from overflow).
const MAX_WAIT_MS: u64 = 86_400_000;

fn invalid(key: &str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), why: why.into() }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.display().to_string(), why: e.to_string() })?;
        // It may hold channel keys (the desk's app key, Lakala's backend token): made this user's
        // only, as the ledger is, rather than refused, so an older till still starts.
        match crate::private_file::tighten(path) {
            Ok(true) => tracing::warn!(path = %path.display(), "the config could be read by other users; made it 0600"),
            Ok(false) => {}
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "the config can be read by other users"),
        }
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            why: e.message().to_string() + &location(text, e.span()),
        })?;
        let mut config = config;
        config.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.validate()?;
        Ok(config)
    }

    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| invalid("(whole file)", e.to_string()))
    }

    /// Writes atomically (temp file, then rename) so a crash never leaves half a config.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        write_atomically(path, &self.to_toml()?)
    }

    pub fn ceiling(&self) -> Fen {
        // Validated in `validate`; the fallback is never reached for a loaded config.
        Fen::parse_yuan_wire(&self.limits.ceiling).unwrap_or(crate::money::DEFAULT_CEILING)
    }

    /// The ledger file: the configured one, or `ledger.db` beside the config file.
    pub fn ledger_path(&self, config_path: &Path) -> PathBuf {
        match &self.ledger.path {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => config_path.parent().unwrap_or(Path::new(".")).join(p),
            None => config_path.parent().unwrap_or(Path::new(".")).join("ledger.db"),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let code = &self.terminal.code;
        if code.is_empty() || code.len() > 8 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid("terminal.code", "1–8 letters or digits / 1 到 8 个字母或数字"));
        }
        match Fen::parse_yuan_wire(&self.limits.ceiling) {
            Ok(f) if f.0 > 0 => {}
            _ => return Err(invalid("limits.ceiling", "an amount like \"50000.00\" / 金额，例如 \"50000.00\"")),
        }
        let t = &self.timing;
        for (key, v) in [
            ("timing.barcode_first_poll_ms", t.barcode_first_poll_ms),
            ("timing.barcode_poll_interval_ms", t.barcode_poll_interval_ms),
            ("timing.qr_poll_interval_ms", t.qr_poll_interval_ms),
            ("timing.recovery_interval_ms", t.recovery_interval_ms),
            ("timing.barcode_deadline_ms", t.barcode_deadline_ms),
            ("timing.qr_timeout_ms", t.qr_timeout_ms),
            ("timing.cancel_retry_ms", t.cancel_retry_ms),
            ("timing.late_horizon_ms", t.late_horizon_ms),
            ("timing.lapsed_recheck_ms", t.lapsed_recheck_ms),
            ("timing.lapsed_recheck_max_ms", t.lapsed_recheck_max_ms),
        ] {
            if v == 0 || v > MAX_WAIT_MS {
                return Err(invalid(key, "between 1 and 86400000 (one day) / 1 到 86400000 毫秒"));
            }
        }
        if t.lapsed_recheck_max_ms < t.lapsed_recheck_ms {
            return Err(invalid(
                "timing.lapsed_recheck_max_ms",
                "at least timing.lapsed_recheck_ms / 不小于 lapsed_recheck_ms",
            ));
        }
        if self.business_day.cutoff_hour > 23 {
            return Err(invalid("business_day.cutoff_hour", "0–23"));
        }
        if self.reconciliation.hour > 23 {
            return Err(invalid("reconciliation.hour", "0–23"));
        }
        if !(1..=31).contains(&self.reconciliation.catch_up_days) {
            return Err(invalid("reconciliation.catch_up_days", "1–31"));
        }
        if self.reconciliation.fee_rate_bp.values().any(|bp| *bp > 10_000) {
            return Err(invalid("reconciliation.fee_rate_bp", "0–10000 (basis points: 60 is 0.6 %)"));
        }
        let p = &self.people;
        if p.idle_lock_minutes > 24 * 60 {
            return Err(invalid("people.idle_lock_minutes", "0–1440 (0: never) / 0 到 1440 分钟（0 为不锁定）"));
        }
        if p.max_wrong_pins == 0 || p.max_wrong_pins > 20 {
            return Err(invalid("people.max_wrong_pins", "1–20"));
        }
        if p.lockout_minutes == 0 || p.lockout_minutes > 24 * 60 {
            return Err(invalid("people.lockout_minutes", "1–1440 / 1 到 1440 分钟"));
        }
        for (i, r) in self.payment_codes.iter().enumerate() {
            if r.wallet.is_empty()
                || r.min_len == 0
                || r.min_len > r.max_len
                || r.prefixes.is_empty()
                || r.prefixes.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(invalid(&format!("payment_codes[{i}]"), "wallet, min_len ≤ max_len, digit prefixes"));
            }
        }
        for (id, section) in self.channels.sections() {
            channels::validate_section(&format!("channels.{id}"), section)?;
        }
        if let Some(notify) = &self.notify {
            notify.validate()?;
        }
        self.scanners.validate()?;
        if let Some(sync) = &self.sync {
            sync.validate()?;
        }
        if let Some(printer) = &self.printer {
            printer.validate()?;
        }
        front::validate(self.terminal_api.as_ref(), &self.kiosk, &self.display, &self.counter)?;
        if self.channel_ids().is_empty() {
            return Err(invalid("channels", "configure at least one channel / 至少配置一个收款渠道"));
        }
        if let Some(demo) = &self.demo {
            self.check_wholly_demo(demo)?;
        }
        // "Not found" becomes final at the horizon: a request that hung must be long over by then.
        if t.late_horizon_ms < 2 * self.longest_request_ms() {
            return Err(invalid(
                "timing.late_horizon_ms",
                "at least twice the longest channel request (connect + request timeout) / 至少为渠道最长请求时间的两倍",
            ));
        }
        Ok(())
    }

    /// A demo profile is wholly demo: every channel talks to the bundled sandbox on its loopback
    /// port. A `[demo]` section left in a real store's config would otherwise start a sandbox
    /// beside live channels, and whatever held that port could answer "paid" for real sales.
    fn check_wholly_demo(&self, demo: &Demo) -> Result<(), ConfigError> {
        let sandbox = format!("http://127.0.0.1:{}", demo.sandbox_port);
        let on_sandbox = |url: &str| {
            reqwest::Url::parse(url).is_ok_and(|u| {
                u.scheme() == "http"
                    && u.host() == Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                    && u.port() == Some(demo.sandbox_port)
            })
        };
        for (id, section) in self.channels.sections() {
            let base = section.http().base_url;
            if !on_sandbox(&base) {
                return Err(not_demo(&format!("channels.{id}.base_url"), &sandbox));
            }
        }
        if let Some(web) = self.channels.cashdesk.as_ref().and_then(|c| c.web_url.as_deref()) {
            if !on_sandbox(web) {
                return Err(not_demo("channels.cashdesk.web_url", &sandbox));
            }
        }
        Ok(())
    }

    /// The longest a single channel request may take (connect plus reply), over all channels.
    pub fn longest_request_ms(&self) -> u64 {
        let sections = self.channels.sections();
        let longest = sections.iter().map(|(_, s)| {
            let http = s.http();
            http.connect_timeout_ms + http.request_timeout_ms
        });
        longest.max().unwrap_or(0).max(1)
    }

    pub fn channel_ids(&self) -> Vec<&'static str> {
        self.channels.sections().into_iter().map(|(id, _)| id).collect()
    }

    pub fn barcode_deadline(&self, channel: &str) -> Duration {
        let own = self
            .channels
            .sections()
            .into_iter()
            .find(|(id, _)| *id == channel)
            .and_then(|(_, s)| s.barcode_deadline_ms());
        Timing::ms(own.unwrap_or(self.timing.barcode_deadline_ms))
    }

    /// A file the config names, relative to the config file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.dir.join(path)
        }
    }

    /// The demo profile: every channel, pointing at a sandbox on loopback `port`, with the
    /// sandbox's own (public, test-only) credentials. Lakala runs in direct mode; its key files
    /// are written beside the config by [`write_demo_on_first_run`].
    pub fn demo(port: u16) -> Config {
        let mut config = Config {
            language: Lang::Zh,
            terminal: Terminal { code: "DEMO01".into(), name: "演示收银台 Demo".into() },
            limits: Limits::default(),
            timing: Timing::default(),
            ledger: LedgerConfig::default(),
            business_day: BusinessDay::default(),
            reconciliation: Reconciliation::default(),
            people: People::default(),
            payment_codes: default_rules(),
            channels: Channels {
                abc: Some(AbcConfig {
                    base_url: String::new(),
                    connect_timeout_ms: default_connect_timeout(),
                    request_timeout_ms: 5_000,
                    allow_insecure_http: false,
                    time_zone: ChannelZone::default(),
                    merchant_id: "103881636900016".into(),
                    goods_name: default_goods_name(),
                    notify_url: None,
                    return_url: None,
                    quit_url: None,
                    barcode_deadline_ms: None,
                }),
                lakala: Some(LakalaConfig {
                    mode: LakalaMode::Direct,
                    base_url: String::new(),
                    connect_timeout_ms: default_connect_timeout(),
                    request_timeout_ms: 5_000,
                    allow_insecure_http: false,
                    time_zone: ChannelZone::default(),
                    merchant_no: "8222900701106PZ".into(),
                    term_no: "D9296400".into(),
                    token: None,
                    appid: "OP00000003".into(),
                    serial_no: "A1B2C3D4E5F60718".into(),
                    private_key: Some(DEMO_MERCHANT_KEY.into()),
                    lakala_cert: Some(DEMO_LAKALA_CERT.into()),
                    qr_api: None,
                    support_cancel: false,
                    support_refund: true,
                    support_repeat_pay: false,
                    legacy_amount_unit: AmountUnit::Fen,
                    legacy_orders_queryable: true,
                    notify_max_age_seconds: channels::default_notify_max_age(),
                    methods: vec!["ALIPAY".into(), "WECHAT".into(), "UQRCODEPAY".into()],
                    order_info: default_goods_name(),
                    notify_url: None,
                    callback_url: None,
                    vpos_id: None,
                    channel_id: None,
                    request_ip: "127.0.0.1".into(),
                    not_found_codes: None,
                    definitive_failures: None,
                    barcode_deadline_ms: None,
                    lapse_watch_ms: channels::default_lakala_watch(),
                }),
                cashdesk: Some(CashdeskConfig {
                    base_url: String::new(),
                    web_url: None,
                    connect_timeout_ms: default_connect_timeout(),
                    request_timeout_ms: 5_000,
                    allow_insecure_http: false,
                    time_zone: ChannelZone::default(),
                    app_id: "123456".into(),
                    app_key: Secret::new("000000"),
                    sign_scheme: SignScheme::Md5,
                    amount_unit: AmountUnit::Fen,
                    amount_text: AmountText::Plain,
                    payment_list: true,
                    order_title: default_goods_name(),
                    third_party_user: None,
                    preferred_channels: Vec::new(),
                    page_lifetime_ms: 600_000,
                    lapse_watch_ms: channels::default_desk_watch(),
                }),
                paysvc: Some(PaysvcConfig {
                    base_url: String::new(),
                    connect_timeout_ms: default_connect_timeout(),
                    request_timeout_ms: 5_000,
                    allow_insecure_http: false,
                    time_zone: ChannelZone::default(),
                    subject: default_goods_name(),
                    gateway_hosts: vec!["127.0.0.1".into()],
                    page_lifetime_ms: 600_000,
                    lapse_watch_ms: channels::default_paysvc_watch(),
                }),
                alipay: Some(AlipayConfig {
                    base_url: String::new(),
                    connect_timeout_ms: default_connect_timeout(),
                    request_timeout_ms: 5_000,
                    allow_insecure_http: false,
                    time_zone: ChannelZone::default(),
                    app_id: "2021000000000001".into(),
                    private_key: DEMO_ALIPAY_APP_KEY.into(),
                    alipay_public_key: Some(DEMO_ALIPAY_PUBLIC_KEY.into()),
                    app_cert: None,
                    alipay_cert: None,
                    alipay_root_cert: None,
                    seller_id: Some("2088000000000001".into()),
                    app_auth_token: None,
                    subject: default_goods_name(),
                    store_id: None,
                    notify_url: None,
                    failure_sub_codes: None,
                    refund_failure_sub_codes: None,
                    barcode_deadline_ms: None,
                    lapse_watch_ms: channels::default_paysvc_watch(),
                }),
                wechat: Some(WechatConfig {
                    base_url: String::new(),
                    connect_timeout_ms: default_connect_timeout(),
                    request_timeout_ms: 5_000,
                    allow_insecure_http: false,
                    time_zone: ChannelZone::default(),
                    appid: "wxd930ea5d5a258f4f".into(),
                    mch_id: "1900000109".into(),
                    sub_mch_id: None,
                    api_key: Secret::new("paydesksandboxwechatv2apikey0032"),
                    sign_type: WechatSignType::HmacSha256,
                    client_cert: DEMO_WECHAT_CERT.into(),
                    client_key: DEMO_WECHAT_KEY.into(),
                    extra_ca_cert: None,
                    body: default_goods_name(),
                    spbill_create_ip: "127.0.0.1".into(),
                    notify_url: None,
                    failure_codes: None,
                    barcode_deadline_ms: None,
                    min_qr_expiry_ms: channels::default_wechat_min_expiry(),
                    lapse_watch_ms: channels::default_desk_watch(),
                }),
            },
            scanners: Scanners::default(),
            notify: None,
            terminal_api: Some(TerminalApi::default()),
            kiosk: Kiosk { products: demo_products(), ..Kiosk::default() },
            display: CustomerDisplay::default(),
            counter: Counter::default(),
            sync: None,
            printer: None,
            demo: Some(Demo { sandbox_port: port, auto_pay_ms: 8_000 }),
            dir: PathBuf::new(),
        };
        config.repoint_demo(port);
        config
    }

    /// Points every channel of a demo config at a sandbox on `port` (it may have had to move).
    pub fn repoint_demo(&mut self, port: u16) {
        let base = format!("http://127.0.0.1:{port}");
        let c = &mut self.channels;
        if let Some(abc) = c.abc.as_mut() {
            abc.base_url = base.clone();
            abc.return_url = Some(format!("{base}/return"));
            abc.quit_url = Some(format!("{base}/return"));
        }
        if let Some(lakala) = c.lakala.as_mut() {
            lakala.base_url = base.clone();
        }
        if let Some(cashdesk) = c.cashdesk.as_mut() {
            cashdesk.base_url = base.clone();
        }
        if let Some(paysvc) = c.paysvc.as_mut() {
            paysvc.base_url = base.clone();
        }
        if let Some(alipay) = c.alipay.as_mut() {
            alipay.base_url = base.clone();
        }
        if let Some(wechat) = c.wechat.as_mut() {
            wechat.base_url = base.clone();
            // WeChat requires a notify address on every QR order; the demo has no receiver, so
            // the sandbox's notifies go nowhere and the cashier finds payments by querying.
            wechat.notify_url = Some(format!("{base}/demo-has-no-notify-receiver"));
        }
        if let Some(demo) = self.demo.as_mut() {
            demo.sandbox_port = port;
        }
    }
}

/// Where the demo profile keeps the sandbox's test keys, relative to the config file; each file
/// has its name in the sandbox's `keys/` folder.
pub const DEMO_KEY_DIR: &str = "demo-keys";
pub const DEMO_MERCHANT_KEY: &str = "demo-keys/merchant_private.pem";
pub const DEMO_LAKALA_CERT: &str = "demo-keys/lakala_cert.pem";
pub const DEMO_ALIPAY_APP_KEY: &str = "demo-keys/alipay_app_private.pem";
pub const DEMO_ALIPAY_PUBLIC_KEY: &str = "demo-keys/alipay_public.pem";
pub const DEMO_WECHAT_CERT: &str = "demo-keys/wechat_apiclient_cert.pem";
pub const DEMO_WECHAT_KEY: &str = "demo-keys/wechat_apiclient_key.pem";

/// The demo kiosk's menu (kiosk mode itself stays off until the config turns it on).
fn demo_products() -> Vec<Product> {
    [("coffee", "咖啡", "Coffee", "12.00"), ("tea", "奶茶", "Milk tea", "9.50"), ("bun", "包子", "Steamed bun", "3.00")]
        .into_iter()
        .map(|(id, zh, en, price)| Product {
            id: id.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            price: price.into(),
        })
        .collect()
}

/// The sandbox's test key files the demo profile needs, as (file name, PEM text), handed in by
/// whoever bundles the sandbox (the core does not depend on it): `paydesk_sandbox::demo_keys::FILES`.
pub struct DemoKeys<'a> {
    pub files: &'a [(&'a str, &'a str)],
}

impl DemoKeys<'_> {
    /// Writes the key files beside `config_path`, where [`Config::demo`] expects them.
    pub fn write(&self, config_path: &Path) -> Result<(), ConfigError> {
        let dir = config_path.parent().unwrap_or(Path::new(".")).join(DEMO_KEY_DIR);
        for (name, text) in self.files {
            let path = dir.join(name);
            crate::private_file::write_atomically(&path, text.as_bytes())
                .map_err(|e| ConfigError::Write { path: path.display().to_string(), why: e.to_string() })?;
        }
        Ok(())
    }
}

/// On the very first run (no config file, no ledger beside it) writes the demo profile with its
/// sandbox on `port()` and returns true. A ledger without its config is a real store whose config
/// went missing: pointing its open payments at a demo sandbox would misread them, so that is an
/// error, never a quiet fallback to the demo.
pub fn write_demo_on_first_run(
    path: &Path,
    keys: &DemoKeys<'_>,
    port: impl FnOnce() -> std::io::Result<u16>,
) -> Result<bool, ConfigError> {
    if path.exists() {
        return Ok(false);
    }
    let ledger = path.with_file_name("ledger.db");
    if ledger.exists() {
        return Err(ConfigError::LedgerWithoutConfig {
            config: path.display().to_string(),
            ledger: ledger.display().to_string(),
        });
    }
    let port = port().map_err(|e| ConfigError::Write { path: path.display().to_string(), why: e.to_string() })?;
    keys.write(path)?;
    Config::demo(port).save(path)?;
    Ok(true)
}

/// A demo profile with a channel off its sandbox: refused, naming both ways out.
fn not_demo(key: &str, sandbox: &str) -> ConfigError {
    invalid(
        key,
        format!(
            "a config with [demo] sends every payment to the bundled sandbox, so this must be {sandbox}; \
             for a real store delete the [demo] section / 含 [demo] 的配置只连接内置沙箱，此处必须为 {sandbox}；\
             正式门店请删除 [demo] 一节"
        ),
    )
}

fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(s) => {
            let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line} / 第 {line} 行)")
        }
        None => String::new(),
    }
}

/// Where the app and the CLI keep their files: `$PAYDESK_HOME`, else `$XDG_DATA_HOME/paydesk`,
/// else `~/.local/share/paydesk`.
pub fn home_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PAYDESK_HOME") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(p).join("paydesk");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/paydesk")
}

pub fn default_config_path() -> PathBuf {
    home_dir().join("config.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[terminal]
code = "T01"
name = "一号收银台"

[channels.abc]
base_url = "https://pay.example.com"
merchant_id = "103881636900016"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("config.toml"))
    }

    #[test]
    fn a_minimal_config_gets_the_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.ceiling(), Fen(5_000_000));
        assert_eq!(c.timing, Timing::default());
        assert_eq!(c.language, Lang::Zh);
        assert_eq!(c.channels.abc.as_ref().unwrap().request_timeout_ms, 15_000);
        assert_eq!(c.barcode_deadline("abc"), Duration::from_secs(60));
        assert_eq!(c.ledger_path(Path::new("/x/config.toml")), PathBuf::from("/x/ledger.db"));
    }

    #[test]
    fn a_missing_field_is_named() {
        let text = GOOD.replace("merchant_id = \"103881636900016\"\n", "");
        let err = parse(&text).unwrap_err();
        assert!(matches!(&err, ConfigError::Parse { why, .. } if why.contains("merchant_id")), "{err:?}");
        assert!(err.message(Lang::Zh).contains("配置文件"));
    }

    #[test]
    fn malformed_values_are_refused() {
        let cases = [
            (GOOD.replace("code = \"T01\"", "code = \"T-01\""), "terminal.code"),
            (GOOD.replace("code = \"T01\"", "code = \"TOOLONGCODE\""), "terminal.code"),
            (format!("{GOOD}\n[limits]\nceiling = \"12.345\"\n"), "limits.ceiling"),
            (GOOD.replace("https://pay.example.com", "http://pay.example.com"), "channels.abc.base_url"),
            (GOOD.replace("https://pay.example.com", "not a url"), "channels.abc.base_url"),
            (GOOD.replace("103881636900016", " "), "channels.abc.merchant_id"),
            (
                GOOD.replace("[channels.abc]", "[channels.abc]\nbarcode_deadline_ms = 0"),
                "channels.abc.barcode_deadline_ms",
            ),
            (format!("{GOOD}\n[timing]\nqr_poll_interval_ms = 0\n"), "timing.qr_poll_interval_ms"),
            (format!("{GOOD}\n[timing]\nlate_horizon_ms = 0\n"), "timing.late_horizon_ms"),
            (format!("{GOOD}\n[timing]\nlate_horizon_ms = 30000\n"), "timing.late_horizon_ms"),
            (format!("{GOOD}\n[timing]\nqr_timeout_ms = 9999999999999\n"), "timing.qr_timeout_ms"),
        ];
        for (text, key) in cases {
            match parse(&text) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{key}: expected invalid, got {other:?}"),
            }
        }
    }

    #[test]
    fn typos_and_wrong_types_are_parse_errors() {
        for text in [
            format!("{GOOD}\nlanguag = \"en\"\n"),
            GOOD.replace("[channels.abc]", "[channels.abc]\nrequest_timeout_ms = \"fast\""),
            format!("{GOOD}\n[timing]\nbarcode_deadline = 5\n"),
            "[terminal\ncode=1".to_string(),
        ] {
            assert!(matches!(parse(&text), Err(ConfigError::Parse { .. })), "{text}");
        }
    }

    #[test]
    fn http_to_loopback_is_allowed_and_insecure_needs_a_switch() {
        assert!(parse(&GOOD.replace("https://pay.example.com", "http://127.0.0.1:8080")).is_ok());
        assert!(parse(&GOOD.replace("https://pay.example.com", "http://localhost:8080")).is_ok());
        let insecure = GOOD.replace("https://pay.example.com", "http://10.0.0.5") + "allow_insecure_http = true\n";
        assert!(parse(&insecure).is_ok());
    }

    const NO_KEYS: DemoKeys<'static> =
        DemoKeys { files: &[("merchant_private.pem", "key"), ("lakala_cert.pem", "cert")] };

    #[test]
    fn the_demo_is_written_only_on_a_truly_first_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(write_demo_on_first_run(&path, &NO_KEYS, || Ok(4242)).unwrap());
        let demo = Config::load(&path).unwrap();
        assert!(demo.demo.is_some());
        let key = demo.channels.lakala.as_ref().unwrap().private_key.clone().unwrap();
        assert_eq!(std::fs::read_to_string(demo.resolve(&key)).unwrap(), "key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!((mode(&path), mode(&demo.resolve(&key))), (0o600, 0o600), "the config and keys are private");
        }
        // Second start: the config is there, nothing is written.
        assert!(!write_demo_on_first_run(&path, &NO_KEYS, || panic!("no port needed")).unwrap());
        #[cfg(unix)]
        {
            // A config an older version left readable by all (it holds the desk's app key) is made
            // this user's only when it is read.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            Config::load(&path).unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // The config vanished but the ledger stayed: refuse, name both files, write nothing.
        std::fs::write(dir.path().join("ledger.db"), b"").unwrap();
        std::fs::remove_file(&path).unwrap();
        let err = write_demo_on_first_run(&path, &NO_KEYS, || Ok(4242)).unwrap_err();
        assert!(matches!(err, ConfigError::LedgerWithoutConfig { .. }));
        assert!(err.message(Lang::Zh).contains("请恢复配置文件"));
        assert!(!path.exists());
    }

    #[test]
    fn the_demo_profile_round_trips() {
        let demo = Config::demo(41234);
        demo.validate().unwrap();
        let text = demo.to_toml().unwrap();
        let back = parse(&text).unwrap();
        assert_eq!(back.channels.abc, demo.channels.abc);
        assert_eq!(back.demo, demo.demo);
        let mut moved = back;
        moved.repoint_demo(5000);
        moved.validate().unwrap();
        assert_eq!(moved.channels.abc.unwrap().base_url, "http://127.0.0.1:5000");
    }

    /// `[demo]` beside a channel that is not the bundled sandbox is refused, naming the key and
    /// the way out: a demo is wholly demo.
    #[test]
    fn a_demo_profile_with_a_live_channel_is_refused() {
        let text = Config::demo(41234).to_toml().unwrap();
        for (from, to, key) in [
            ("http://127.0.0.1:41234\"\n", "https://pay.example.com\"\n", "channels.abc.base_url"),
            ("http://127.0.0.1:41234\"\n", "http://127.0.0.1:41235\"\n", "channels.abc.base_url"),
            ("http://127.0.0.1:41234\"\n", "http://localhost:41234\"\n", "channels.abc.base_url"),
        ] {
            let edited = text.replacen(from, to, 1);
            assert_ne!(edited, text);
            let err = parse(&edited).unwrap_err();
            assert!(matches!(&err, ConfigError::Invalid { key: k, .. } if k == key), "{to}: {err:?}");
            assert!(err.message(Lang::Zh).contains("正式门店请删除 [demo]"), "{}", err.message(Lang::Zh));
            assert!(err.message(Lang::En).contains("delete the [demo] section"));
        }
        let web =
            text.replace("[channels.cashdesk]\n", "[channels.cashdesk]\nweb_url = \"https://desk.example.com\"\n");
        let err = parse(&web).unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "channels.cashdesk.web_url"), "{err:?}");
        // Without [demo] the same channels are a store's own business.
        let store = text.replacen("http://127.0.0.1:41234\"\n", "https://pay.example.com\"\n", 1);
        let store = store.split("[demo]").next().unwrap().to_string();
        parse(&store).unwrap();
    }
}
