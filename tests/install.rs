//! The Debian package as a store installs it: `dpkg -i` on this machine, the installed binary
//! started under Xvfb takes a payment, and installing a newer package over it keeps the ledger
//! and the config. Needs root (dpkg) and the package: `scripts/deb.sh --debug` makes it (the test
//! script does), or `PAYDESK_DEB` names one. The package is purged again at the end.

use paydesk_core::ledger::{Ledger, State};
use paydesk_e2e::{workspace, Error, Session};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(30);
const INSTALLED: &str = "/usr/bin/paydesk";

fn run(program: &str, args: &[&str]) -> Result<String, Error> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn package() -> PathBuf {
    if let Some(deb) = std::env::var_os("PAYDESK_DEB") {
        // A relative path is the repository's: cargo runs the test from tests/.
        return workspace().join(deb);
    }
    let dir = workspace().join("target/debug/bundle/deb");
    let found = std::fs::read_dir(&dir)
        .ok()
        .and_then(|d| d.flatten().map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "deb")));
    found.unwrap_or_else(|| panic!("no package in {}: build it first with scripts/deb.sh --debug", dir.display()))
}

fn installed_version() -> Option<String> {
    run("dpkg-query", &["-W", "-f", "${Status} ${Version}", "paydesk"])
        .ok()
        .and_then(|s| s.strip_prefix("install ok installed ").map(str::to_string))
}

/// The same package with a higher version, as the next release would be: what `dpkg -i` of an
/// upgrade does to the files in place, without a second build.
fn newer_package(deb: &Path, dir: &Path) -> Result<(PathBuf, String), Error> {
    let root = dir.join("root");
    run("dpkg-deb", &["-R", &deb.to_string_lossy(), &root.to_string_lossy()])?;
    let control_path = root.join("DEBIAN/control");
    let control = std::fs::read_to_string(&control_path)?;
    let version = control
        .lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .ok_or("the package's control file has no Version")?
        .to_string();
    let newer = format!("{version}+upgrade1");
    std::fs::write(&control_path, control.replace(&format!("Version: {version}\n"), &format!("Version: {newer}\n")))?;
    let out = dir.join("paydesk-newer.deb");
    run("dpkg-deb", &["--root-owner-group", "-Zgzip", "-z1", "-b", &root.to_string_lossy(), &out.to_string_lossy()])?;
    Ok((out, newer))
}

/// Purges the package when the test ends, however it ends.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "paydesk"]).output();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_package_installs_a_working_cashier_and_an_upgrade_keeps_the_ledger_and_config() -> Result<(), Error> {
    let deb = package();
    assert_eq!(run("id", &["-u"])?.trim(), "0", "installing a package needs root");
    assert!(
        installed_version().is_none(),
        "paydesk is already installed here; this test installs and purges it: dpkg --purge paydesk first"
    );
    let _purge = Purge;
    run("dpkg", &["-i", &deb.to_string_lossy()])?;
    let version = installed_version().ok_or("dpkg -i left paydesk not installed")?;

    // What the package puts in place: the binary, a desktop entry (in Chinese too), the icons,
    // and the kiosk's autostart entry, shipped switched off.
    let meta = std::fs::metadata(INSTALLED)?;
    assert!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0, "{INSTALLED} is executable");
    let desktop = std::fs::read_to_string("/usr/share/applications/paydesk.desktop")?;
    for line in ["Type=Application", "Exec=paydesk", "Icon=paydesk", "Name[zh_CN]=paydesk 收银台", "Terminal=false"]
    {
        assert!(desktop.lines().any(|l| l == line), "desktop entry lacks {line}:\n{desktop}");
    }
    assert!(Path::new("/usr/share/icons/hicolor/128x128/apps/paydesk.png").exists());
    let autostart = std::fs::read_to_string("/usr/share/paydesk/autostart/paydesk-kiosk.desktop")?;
    assert!(autostart.lines().any(|l| l == format!("Exec={INSTALLED}")), "{autostart}");
    assert!(!Path::new("/etc/xdg/autostart/paydesk-kiosk.desktop").exists(), "autostart is off until switched on");

    // The installed binary's first run: the demo profile, a payment taken at the counter.
    let home = tempfile::tempdir()?;
    let s = Session::launch_app(Path::new(INSTALLED), home.path(), "installed", None).await?;
    s.sign_in_as_asked().await?;
    s.keypad("10").await?;
    s.click("[data-testid=action-scan]").await?;
    s.click("[data-testid=sample-code]").await?;
    s.wait_for("[data-testid=result-success]", SETTLE).await?;
    s.click("[data-testid=result-done]").await?;
    s.screenshot("installed-first-run.png").await?;
    s.close().await;
    let ledger_path = home.path().join("ledger.db");
    let paid = {
        let ledger = Ledger::open(&ledger_path)?;
        let all = ledger.payments_created_between(0, i64::MAX, 10)?;
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().ok_or("no payment")?
    };
    assert_eq!((paid.state, paid.amount.0), (State::Paid, 1000));
    let config = std::fs::read(home.path().join("config.toml"))?;

    // The next release installed over it: the same data folder opens with its payment and
    // its config as they were.
    let work = tempfile::tempdir()?;
    let (newer, newer_version) = newer_package(&deb, work.path())?;
    run("dpkg", &["-i", &newer.to_string_lossy()])?;
    assert_eq!(installed_version().as_deref(), Some(newer_version.as_str()), "upgraded from {version}");
    let s = Session::launch_app(Path::new(INSTALLED), home.path(), "installed-upgraded", None).await?;
    s.sign_in_as_asked().await?;
    s.wait_for(&format!("[data-testid=payment-row][data-id='{}']", paid.id), Duration::from_secs(15)).await?;
    s.screenshot("installed-upgraded.png").await?;
    s.close().await;
    assert_eq!(std::fs::read(home.path().join("config.toml"))?, config, "the upgrade left the config as it was");
    let ledger = Ledger::open(&ledger_path)?;
    assert_eq!(ledger.payments_created_between(0, i64::MAX, 10)?.len(), 1);
    assert_eq!(ledger.payment(&paid.id)?.state, State::Paid);
    Ok(())
}
