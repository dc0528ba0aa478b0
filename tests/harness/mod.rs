//! Drives the real paydesk window: starts `tauri-driver` (which starts WebKitWebDriver, which
//! starts the app binary) with its own `PAYDESK_HOME`, and connects a WebDriver client.
//!
//! Needs a display (run under `xvfb-run`), `tauri-driver` on PATH, `WebKitWebDriver`, and the
//! app built (`target/debug/paydesk`, or `PAYDESK_APP`). Each missing piece fails loudly.

pub mod procmem;

use fantoccini::error::NewSessionError;
use fantoccini::{Client, ClientBuilder, Locator};
use paydesk_core::config::{Config, Timing};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn app_binary() -> PathBuf {
    let path =
        std::env::var_os("PAYDESK_APP").map(PathBuf::from).unwrap_or_else(|| workspace().join("target/debug/paydesk"));
    assert!(path.exists(), "no app binary at {} — build it first: cargo build -p paydesk-app", path.display());
    path
}

/// Where screenshots and driver logs go (CI keeps `target/e2e` as artefacts).
pub fn artefacts() -> PathBuf {
    let dir = workspace().join("target/e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

pub struct Session {
    pub client: Client,
    driver: Child,
    pub home: PathBuf,
}

/// A virtual screen of a given size (an Xvfb server of its own), for tests that check the window
/// fits the screens stores use. Stopped when dropped.
pub struct Screen {
    pub display: String,
    pub size: (u32, u32),
    _server: Child,
}

impl Drop for Screen {
    /// SIGTERM, so the server removes its lock file (a SIGKILL does not), then waits for it.
    fn drop(&mut self) {
        if let Some(pid) = self._server.id() {
            let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                // reap it if it is our zombie
                let _ = self._server.try_wait();
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Session {
    /// A session dropped without `close` (a failed test) leaves nothing running either.
    fn drop(&mut self) {
        self.end_driver_group();
    }
}

impl Screen {
    pub async fn start(width: u32, height: u32) -> Result<Screen, Error> {
        for n in 90..190u32 {
            let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
            if lock.exists() {
                // A server killed without its goodbye leaves its lock: take the number back when
                // the process that held it is gone.
                let pid = std::fs::read_to_string(&lock).unwrap_or_default().trim().to_string();
                if pid.is_empty() || Path::new(&format!("/proc/{pid}")).exists() {
                    continue;
                }
                let _ = std::fs::remove_file(&lock);
                let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"));
            }
            let mut server = Command::new("Xvfb")
                .args([
                    format!(":{n}"),
                    "-screen".into(),
                    "0".into(),
                    format!("{width}x{height}x24"),
                    "-nolisten".into(),
                    "tcp".into(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start Xvfb ({e}); install it: apt-get install xvfb"))?;
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while !socket.exists() && Instant::now() < deadline {
                if server.try_wait()?.is_some() {
                    break; // lost the race for this display number: try the next
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if socket.exists() && server.try_wait()?.is_none() {
                return Ok(Screen { display: format!(":{n}"), size: (width, height), _server: server });
            }
        }
        Err("no free X display number for Xvfb".into())
    }
}

impl Session {
    /// Starts the app with `home` as its data folder, gets past the sign-in screens and waits
    /// until the clerk window answers.
    pub async fn start(home: &Path, name: &str) -> Result<Session, Error> {
        Session::start_on(home, name, None).await
    }

    /// `start` on a screen of its own (else the one in `DISPLAY`).
    pub async fn start_on(home: &Path, name: &str, screen: Option<&Screen>) -> Result<Session, Error> {
        let session = Session::launch_on(home, name, screen).await?;
        session.sign_in_as_asked().await?;
        Ok(session)
    }

    /// Starts the app and connects, without waiting for any screen.
    pub async fn launch(home: &Path, name: &str) -> Result<Session, Error> {
        Session::launch_on(home, name, None).await
    }

    pub async fn launch_on(home: &Path, name: &str, screen: Option<&Screen>) -> Result<Session, Error> {
        Session::launch_app(&app_binary(), home, name, screen).await
    }

    /// `launch_on` with a given app binary (an installed one).
    pub async fn launch_app(app: &Path, home: &Path, name: &str, screen: Option<&Screen>) -> Result<Session, Error> {
        assert!(
            screen.is_some() || std::env::var_os("DISPLAY").is_some(),
            "no DISPLAY: run the window tests under xvfb-run"
        );
        let port = free_port();
        let native = free_port();
        let log = std::fs::File::create(artefacts().join(format!("{name}-driver.log")))?;
        let mut driver = Command::new("tauri-driver");
        if let Some(screen) = screen {
            driver.env("DISPLAY", &screen.display);
        }
        let driver = driver
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("PAYDESK_HOME", home)
            .env("PAYDESK_LOG", "info")
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            // A group of its own, so that closing the session ends WebKitWebDriver (and the app)
            // behind it too: killing tauri-driver alone left them running.
            .process_group(0)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start tauri-driver ({e}); install it: cargo install tauri-driver --locked --version 2.1.0"
                )
            })?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if Instant::now() > deadline {
                return Err("tauri-driver did not start listening".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = serde_json::json!({
            "browserName": "wry",
            "tauri:options": { "application": app },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!() };
        let _ = rustls::crypto::ring::default_provider().install_default();
        // tauri-driver listens before WebKitWebDriver behind it is ready: a first session request
        // can be cut off (seen once in a full run: `IncompleteMessage`). Asked again, briefly.
        let mut tries = 0;
        let client = loop {
            match ClientBuilder::rustls()?.capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{port}")).await
            {
                Ok(client) => break client,
                Err(e)
                    if tries < 3
                        && matches!(
                            e,
                            NewSessionError::Failed(_) | NewSessionError::FailedC(_) | NewSessionError::Lost(_)
                        ) =>
                {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        Ok(Session { client, driver, home: home.to_path_buf() })
    }

    /// Gets past the sign-in screen: on a new ledger creates the first manager ([`MANAGER`],
    /// who stays signed in), on the demo profile signs in its clerk. Returns once the keypad is
    /// drawn: the window is interactive once the core answered bootstrap.
    pub async fn sign_in_as_asked(&self) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.present("[data-testid=action-scan]").await {
                return Ok(());
            }
            if self.present("[data-testid=first-manager-name]").await {
                self.type_into("[data-testid=first-manager-name]", MANAGER.0).await?;
                self.type_into("[data-testid=first-manager-pin]", MANAGER.1).await?;
                self.type_into("[data-testid=first-manager-pin2]", MANAGER.1).await?;
                self.click("[data-testid=first-manager-submit]").await?;
                self.wait_for("[data-testid=action-scan]", Duration::from_secs(15)).await?;
                return Ok(());
            }
            if self.present("[data-testid=sign-in-user]").await {
                let (name, pin) = DEMO_CLERK;
                self.sign_in(name, pin).await?;
                self.wait_for("[data-testid=action-scan]", Duration::from_secs(15)).await?;
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("the window showed neither the keypad nor a sign-in screen".into());
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Picks `name` on the sign-in screen and enters `pin` on its PIN pad.
    pub async fn sign_in(&self, name: &str, pin: &str) -> Result<(), Error> {
        self.wait_for("[data-testid=sign-in-user]", Duration::from_secs(10)).await?;
        for user in self.client.find_all(Locator::Css("[data-testid=sign-in-user]")).await? {
            if user.text().await.unwrap_or_default().contains(name) {
                user.click().await?;
                break;
            }
        }
        for d in pin.chars() {
            self.click(&format!("[data-testid=pin-key-{d}]")).await?;
        }
        self.click("[data-testid=sign-in-submit]").await
    }

    /// Enters `pin` for `name` in the manager PIN prompt and confirms.
    pub async fn approve(&self, name: &str, pin: &str) -> Result<(), Error> {
        let prompt = self.wait_for("[data-testid=pin-prompt-user]", Duration::from_secs(10)).await?;
        for option in prompt.find_all(Locator::Css("option")).await? {
            if option.text().await.unwrap_or_default().contains(name) {
                option.click().await?;
            }
        }
        for d in pin.chars() {
            self.click(&format!("[data-testid=pin-prompt-key-{d}]")).await?;
        }
        self.click("[data-testid=pin-prompt-ok]").await
    }

    /// Presses and holds on an element (a touch kiosk's long press) for `hold`.
    pub async fn long_press(&self, css: &str, hold: Duration) -> Result<(), Error> {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        let element = self.wait_for(css, Duration::from_secs(10)).await?;
        let press = MouseActions::new("finger".into())
            .then(PointerAction::MoveToElement { element, duration: None, x: 0.0, y: 0.0 })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Pause { duration: hold })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        self.client.perform_actions(press).await?;
        Ok(())
    }

    /// Waits until no element matches (an overlay has faded out).
    pub async fn wait_gone(&self, css: &str, within: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + within;
        while self.present(css).await {
            if Instant::now() > deadline {
                return Err(format!("{css} is still there").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Waits until the element's attribute has the value.
    pub async fn wait_attr(&self, css: &str, name: &str, value: &str, within: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + within;
        loop {
            let now = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.attr(name).await.ok().flatten(),
                Err(_) => None,
            };
            if now.as_deref() == Some(value) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{css} [{name}] never became {value:?} (last: {now:?})").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Decodes the QR code in a screenshot of the current window. WebKit's screenshot can lag
    /// a frame behind the DOM, so a screenshot without a code is taken again for a few seconds.
    pub async fn qr_in_screenshot(&self, file: &str) -> Result<String, Error> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let path = self.screenshot(file).await?;
            let frame = paydesk_core::scan::decode::GrayFrame::from_image(&image::open(&path)?);
            if let Some(decoded) = paydesk_core::scan::decode::decode(&frame) {
                return Ok(decoded.text);
            }
            if Instant::now() > deadline {
                return Err(format!("no QR code in {file}").into());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn present(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    pub async fn type_into(&self, css: &str, text: &str) -> Result<(), Error> {
        let field = self.wait_for(css, Duration::from_secs(10)).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Waits until an element matches. A wait that runs out says for what and leaves a
    /// screenshot of what the window showed instead.
    pub async fn wait_for(&self, css: &str, within: Duration) -> Result<fantoccini::elements::Element, Error> {
        match self.client.wait().at_most(within).every(Duration::from_millis(100)).for_element(Locator::Css(css)).await
        {
            Ok(element) => Ok(element),
            Err(e) => {
                let shot = format!("wait-timeout-{}.png", css.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
                let shot = self.screenshot(&shot).await;
                Err(format!("no {css} within {within:?}: {e} (screenshot: {shot:?})").into())
            }
        }
    }

    /// Clicks an element. While a screen is still moving in (a transition), the click point can
    /// be covered: tried again for a few seconds, as a person's second tap would. A click still
    /// refused says which element and leaves a screenshot.
    pub async fn click(&self, css: &str) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let element = self.wait_for(css, Duration::from_secs(10)).await?;
            match element.click().await {
                Ok(()) => return Ok(()),
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::ElementClickIntercepted
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    let shot = self.screenshot("click-refused.png").await;
                    return Err(format!("cannot click {css}: {e:?} (screenshot: {shot:?})").into());
                }
            }
        }
    }

    /// Types an amount on the on-screen keypad.
    pub async fn keypad(&self, amount: &str) -> Result<(), Error> {
        self.click("[data-testid=key-clear]").await?;
        for c in amount.chars() {
            let id = if c == '.' { "key-dot".to_string() } else { format!("key-{c}") };
            self.click(&format!("[data-testid={id}]")).await?;
        }
        Ok(())
    }

    /// Sends text as raw key presses to whatever has focus, back to back with no pause, the way
    /// a USB keyboard-wedge scanner types.
    pub async fn wedge(&self, text: &str) -> Result<(), Error> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut keys = KeyActions::new("scanner".into());
        for c in text.chars() {
            keys = keys.then(KeyAction::Down { value: c }).then(KeyAction::Up { value: c });
        }
        self.client.perform_actions(keys).await?;
        Ok(())
    }

    /// Waits until the element's text contains `needle` (the screen re-rendered).
    pub async fn wait_text(&self, css: &str, needle: &str, within: Duration) -> Result<String, Error> {
        let deadline = Instant::now() + within;
        loop {
            let element = self.wait_for(css, within).await?;
            let mut text = element.text().await.unwrap_or_default();
            if !text.contains(needle) {
                // WebKitWebDriver reads no visible text from some styled elements (an ellipsis
                // box, a canvas caption): fall back to the DOM's text.
                let js = "return arguments[0].textContent";
                let dom = self.client.execute(js, vec![serde_json::to_value(&element)?]).await?;
                text = dom.as_str().unwrap_or_default().to_string();
            }
            if text.contains(needle) {
                return Ok(text);
            }
            if Instant::now() > deadline {
                return Err(format!("{css} never showed {needle:?} (last: {text:?})").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A PNG of the current window, after two animation frames (WebKit's snapshot otherwise
    /// can show the screen as it was before the last change).
    pub async fn screenshot(&self, file: &str) -> Result<PathBuf, Error> {
        // A 1-pixel, all but transparent dot in the corner keeps the page painting until the
        // picture is taken: painted on the CPU, WebKitWebDriver's screenshot waits for the next
        // paint, and a still screen (no clock ticking) never paints again.
        let painted = "const done = arguments[arguments.length - 1]; \
                       const dot = document.createElement('div'); dot.id = '__e2e_paint'; \
                       dot.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;z-index:2147483647;pointer-events:none'; \
                       document.body.appendChild(dot); let n = 0; \
                       const tick = () => { if (!dot.isConnected) return; n ^= 1; \
                         dot.style.background = n ? 'rgba(0,0,0,0.004)' : 'rgba(0,0,0,0.008)'; requestAnimationFrame(tick); }; \
                       tick(); \
                       requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => done(true), 50)));";
        if let Err(e) = self.client.execute_async(painted, vec![]).await {
            eprintln!("no animation frame before {file}: {e}");
        }
        let png = self.client.screenshot().await;
        let _ = self.client.execute("document.getElementById('__e2e_paint')?.remove()", vec![]).await;
        let png = png?;
        let path = artefacts().join(file);
        std::fs::write(&path, png)?;
        Ok(path)
    }

    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>, Error> {
        Ok(self.wait_for(css, Duration::from_secs(10)).await?.attr(name).await?)
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.end_driver_group();
        let _ = self.driver.start_kill();
        let _ = self.driver.wait().await;
    }

    /// Ends tauri-driver's process group: WebKitWebDriver and whatever it started.
    fn end_driver_group(&self) {
        if let Some(pid) = self.driver.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", "--", &format!("-{pid}")]).status();
        }
    }
}

/// The first manager a test window creates on a new ledger: name and PIN.
pub const MANAGER: (&str, &str) = ("测试店长", "246813");
/// The demo profile's clerk (`config::DEMO_USERS`).
pub const DEMO_CLERK: (&str, &str) = ("李收银", "0000");

/// Writes `config` into `home` with the sandbox's test keys beside it (the demo profile names them).
pub fn write_config(home: &Path, config: &Config) -> Result<(), Error> {
    let path = home.join("config.toml");
    paydesk_core::config::DemoKeys { files: paydesk_sandbox::demo_keys::CASHIER_FILES }.write(&path)?;
    config.save(&path)?;
    Ok(())
}

/// A config for a sandbox at `base_url`, with waits long enough for a person-paced test.
pub fn config_for(base_url: &str) -> Config {
    let port = base_url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut c = Config::demo(port);
    c.demo = None;
    c.terminal.code = "E2E01".into();
    c.terminal.name = "E2E 收银台".into();
    c.timing = Timing {
        barcode_first_poll_ms: 300,
        barcode_poll_interval_ms: 300,
        barcode_deadline_ms: 20_000,
        qr_poll_interval_ms: 300,
        qr_timeout_ms: 60_000,
        ..Timing::default()
    };
    // WebDriver types a "scan" key by key, and on a loaded 2-core runner the first keys can come
    // further apart than a scanner's 50 ms: the test config allows more, so a scan stays a scan.
    c.scanners.wedge.max_gap_ms = 200;
    // Each window gets its own API port (a test that pushes charges reads it from the config).
    c.terminal_api =
        Some(paydesk_core::config::TerminalApi { listen: format!("127.0.0.1:{}", free_port()), ..Default::default() });
    c
}

pub const TERMINAL_TOKEN: &str = "e2e-terminal-token-0123456789abcdef";

/// The config's terminal API, with a token the test knows.
pub struct TerminalApi {
    base: String,
    http: reqwest::Client,
}

impl TerminalApi {
    pub fn of(home: &Path, config: &Config) -> TerminalApi {
        let api = config.terminal_api.as_ref().expect("the test config has a terminal API");
        // A token others can read is refused, as the app would for a store.
        paydesk_core::private_file::write_atomically(&home.join(&api.token_file), TERMINAL_TOKEN.as_bytes())
            .expect("token file");
        TerminalApi { base: format!("http://{}", api.listen), http: reqwest::Client::new() }
    }

    pub async fn push(
        &self,
        order: &str,
        fen: i64,
        subject: &str,
        tender: Option<&str>,
    ) -> Result<serde_json::Value, Error> {
        let body =
            serde_json::json!({ "amount_fen": fen, "external_order_id": order, "subject": subject, "tender": tender });
        let r =
            self.http.post(format!("{}/v1/charges", self.base)).bearer_auth(TERMINAL_TOKEN).json(&body).send().await?;
        assert_eq!(r.status().as_u16(), 201);
        Ok(r.json().await?)
    }

    pub async fn charge(&self, id: &str, wait_s: u32) -> Result<serde_json::Value, Error> {
        let url = format!("{}/v1/charges/{id}?wait={wait_s}", self.base);
        Ok(self.http.get(url).bearer_auth(TERMINAL_TOKEN).send().await?.json().await?)
    }

    /// The charge's current attempt, once the screen has started one.
    pub async fn attempt(&self, id: &str) -> Result<String, Error> {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let c = self.charge(id, 0).await?;
            if let Some(p) = c["payment"]["id"].as_str().filter(|_| c["state"] == "paying") {
                return Ok(p.to_string());
            }
            assert!(std::time::Instant::now() < deadline, "the screen never started a payment: {c}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
