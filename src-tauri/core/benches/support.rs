//! Shared by the bench binaries: percentiles.

use std::time::Duration;

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<34} n={:<6} median {:>9.3} ms   p95 {:>9.3} ms   p99 {:>9.3} ms   max {:>9.3} ms",
        samples.len(),
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 95.0)),
        ms(percentile(&samples, 99.0)),
        ms(samples.last().copied().unwrap_or_default()),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[allow(dead_code)] // not every bench binary uses it
/// The demo profile on a sandbox at `port`, its key files written into `dir` (lakala signs).
pub fn demo_config(port: u16, dir: &std::path::Path) -> paydesk_core::config::Config {
    let mut config = paydesk_core::config::Config::demo(port);
    config.demo = None;
    config.dir = dir.to_path_buf();
    paydesk_core::config::DemoKeys { files: paydesk_sandbox::demo_keys::CASHIER_FILES }
        .write(&dir.join("config.toml"))
        .expect("demo keys");
    config
}
