//! What faces the customer and the store's other systems: the local terminal API (`[terminal_api]`),
//! kiosk mode (`[kiosk]`) and the customer display (`[display]`).

use super::{invalid, ConfigError};
use crate::i18n::Lang;
use crate::ledger::Tender;
use crate::money::Fen;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The HTTP API the store's ordering system uses to push charges (docs/terminal-api.yaml).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TerminalApi {
    /// Address and port to listen on. Loopback by default: the ordering system runs on this PC.
    pub listen: String,
    /// The file holding the bearer token, relative to the config's directory. Made (32 random
    /// bytes, hex, mode 0600) when missing; never logged.
    pub token_file: String,
    /// Listening beyond loopback sends the token and the orders in clear text. Refused unless
    /// this is set, which says a TLS proxy (or a trusted network) is in front.
    pub allow_plaintext_remote: bool,
    /// How many charges may be unfinished at once. One counter serves one customer at a time.
    pub max_open_charges: u32,
    /// The longest `wait` a status request may ask for.
    pub max_wait_seconds: u32,
}

impl Default for TerminalApi {
    fn default() -> Self {
        TerminalApi {
            listen: "127.0.0.1:8787".into(),
            token_file: "terminal-api.token".into(),
            allow_plaintext_remote: false,
            max_open_charges: 1,
            max_wait_seconds: 60,
        }
    }
}

impl TerminalApi {
    /// The address to bind, refused when it leaves loopback without the explicit setting.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        let addr: SocketAddr = self
            .listen
            .parse()
            .map_err(|_| invalid("terminal_api.listen", "an address and port like 127.0.0.1:8787 / 地址和端口"))?;
        if !addr.ip().is_loopback() && !self.allow_plaintext_remote {
            return Err(invalid(
                "terminal_api.listen",
                "not a loopback address: the token and orders would cross the network in clear text. Put a TLS \
                 proxy in front and set allow_plaintext_remote = true / 非本机地址：令牌和订单将以明文传输。请在前面\
                 加 TLS 代理，并设置 allow_plaintext_remote = true",
            ));
        }
        Ok(addr)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        if self.token_file.trim().is_empty() {
            return Err(invalid("terminal_api.token_file", "a file name / 文件名"));
        }
        if self.max_open_charges == 0 || self.max_open_charges > 1000 {
            return Err(invalid("terminal_api.max_open_charges", "1–1000"));
        }
        if self.max_wait_seconds == 0 || self.max_wait_seconds > 300 {
            return Err(invalid("terminal_api.max_wait_seconds", "1–300"));
        }
        Ok(())
    }
}

/// A product on the kiosk's menu.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Letters, digits, `-` and `_`; what the window sends back.
    pub id: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    /// Yuan text, e.g. `"12.00"`.
    pub price: String,
}

impl Product {
    pub fn price_fen(&self) -> Option<Fen> {
        Fen::parse_yuan_wire(&self.price).ok().filter(|f| f.0 > 0)
    }

    /// The product's name in the language asked; English falls back to the Chinese name.
    pub fn name(&self, lang: Lang) -> &str {
        if lang == Lang::En && !self.name_en.is_empty() {
            &self.name_en
        } else {
            &self.name_zh
        }
    }
}

/// Self-service: the customer pays alone, full screen, and only a manager's PIN leaves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Kiosk {
    pub enabled: bool,
    /// Back to the start screen after this long without a touch (never while a payment runs).
    pub idle_reset_seconds: u32,
    /// How long the "paid" screen stays.
    pub paid_reset_seconds: u32,
    /// The payment ways offered, in order; a single one is chosen for the customer.
    pub tenders: Vec<Tender>,
    /// The channel kiosk payments use; default the first configured one that offers the tenders.
    pub channel: Option<String>,
    /// The QR method on that channel (e.g. `WECHAT`); default the channel's first.
    pub method: Option<String>,
    pub products: Vec<Product>,
}

impl Default for Kiosk {
    fn default() -> Self {
        Kiosk {
            enabled: false,
            idle_reset_seconds: 60,
            paid_reset_seconds: 8,
            tenders: vec![Tender::Qr, Tender::Code],
            channel: None,
            method: None,
            products: Vec::new(),
        }
    }
}

impl Kiosk {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(10..=3600).contains(&self.idle_reset_seconds) {
            return Err(invalid("kiosk.idle_reset_seconds", "10–3600"));
        }
        if !(2..=120).contains(&self.paid_reset_seconds) {
            return Err(invalid("kiosk.paid_reset_seconds", "2–120"));
        }
        if self.tenders.is_empty() {
            return Err(invalid("kiosk.tenders", "at least one of \"qr\", \"code\" / 至少一种付款方式"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.products.iter().enumerate() {
            let id_ok = !p.id.is_empty()
                && p.id.len() <= 32
                && p.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok || !seen.insert(p.id.as_str()) {
                return Err(invalid(&format!("kiosk.products[{i}].id"), "unique, 1–32 letters, digits, - or _"));
            }
            if p.name_zh.trim().is_empty()
                || p.name_zh.chars().count() > 40
                || p.name_en.chars().count() > 40
                || !crate::text::visible(&p.name_zh)
                || !crate::text::visible(&p.name_en)
            {
                return Err(invalid(&format!("kiosk.products[{i}].name_zh"), "1–40 characters / 1 到 40 个字"));
            }
            if p.price_fen().is_none() {
                return Err(invalid(&format!("kiosk.products[{i}].price"), "an amount like \"12.00\" / 金额"));
            }
        }
        Ok(())
    }
}

/// The second, customer-facing screen; its welcome text and logo are also the kiosk's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CustomerDisplay {
    pub enabled: bool,
    /// Open it even with one screen, as a window beside the clerk's (it would cover part of it):
    /// for a test rig, or a clerk who turns the screen round.
    pub on_single_screen: bool,
    pub welcome_zh: String,
    pub welcome_en: String,
    /// A PNG, JPEG or SVG file (relative to the config's directory), at most 1 MiB; the bundled
    /// `assets/logo.svg` when absent.
    pub logo: Option<String>,
}

impl Default for CustomerDisplay {
    fn default() -> Self {
        CustomerDisplay {
            enabled: false,
            on_single_screen: false,
            welcome_zh: "欢迎光临".into(),
            welcome_en: "Welcome".into(),
            logo: None,
        }
    }
}

impl CustomerDisplay {
    /// The greeting in the language asked.
    pub fn welcome(&self, lang: Lang) -> &str {
        lang.pick(&self.welcome_zh, &self.welcome_en)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.welcome_zh.chars().count() > 60
            || self.welcome_en.chars().count() > 60
            || !crate::text::visible(&self.welcome_zh)
            || !crate::text::visible(&self.welcome_en)
        {
            return Err(invalid("display.welcome_zh", "at most 60 characters / 不超过 60 个字"));
        }
        Ok(())
    }
}

/// The clerk's window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Counter {
    /// The "paid" screen goes back to the keypad after this long, or at the next digit typed;
    /// 0 keeps it until a key.
    pub paid_close_seconds: u32,
    /// The window opens maximised: a till's screen is the cashier's. Off on a desktop shared with
    /// other programs.
    pub start_maximized: bool,
}

impl Default for Counter {
    fn default() -> Self {
        Counter { paid_close_seconds: 4, start_maximized: true }
    }
}

impl Counter {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.paid_close_seconds > 60 {
            return Err(invalid("counter.paid_close_seconds", "0–60 (0: until a key / 0 表示按键才返回)"));
        }
        Ok(())
    }
}

pub(super) fn validate(
    api: Option<&TerminalApi>,
    kiosk: &Kiosk,
    display: &CustomerDisplay,
    counter: &Counter,
) -> Result<(), ConfigError> {
    if let Some(api) = api {
        api.validate()?;
    }
    kiosk.validate()?;
    display.validate()?;
    counter.validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_loopback_listener_needs_the_explicit_setting() {
        let mut api = TerminalApi { listen: "0.0.0.0:8787".into(), ..TerminalApi::default() };
        let err = api.bind_addr().unwrap_err();
        assert!(err.to_string().contains("terminal_api.listen"), "{err}");
        api.allow_plaintext_remote = true;
        assert!(api.bind_addr().is_ok());
        for local in ["127.0.0.1:0", "[::1]:8787"] {
            assert!(TerminalApi { listen: local.into(), ..TerminalApi::default() }.bind_addr().is_ok(), "{local}");
        }
        assert!(TerminalApi { listen: "localhost".into(), ..TerminalApi::default() }.bind_addr().is_err());
    }

    #[test]
    fn kiosk_products_are_checked() {
        let product = |id: &str, price: &str| Product {
            id: id.into(),
            name_zh: "咖啡".into(),
            name_en: "Coffee".into(),
            price: price.into(),
        };
        let ok = Kiosk { products: vec![product("coffee", "12.00")], ..Kiosk::default() };
        assert!(ok.validate().is_ok());
        for bad in [
            vec![product("coffee", "12.001")],
            vec![product("coffee", "0")],
            vec![product("cof fee", "1")],
            vec![product("a", "1"), product("a", "2")],
        ] {
            assert!(Kiosk { products: bad.clone(), ..Kiosk::default() }.validate().is_err(), "{bad:?}");
        }
        assert!(Kiosk { tenders: vec![], ..Kiosk::default() }.validate().is_err());
    }
}
