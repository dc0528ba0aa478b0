//! `paydesk-chaos`: payments through the real engine against the sandbox, with random channel
//! faults and a cashier process SIGKILLed at random moments; at the end the ledger must agree
//! with the sandbox's truth. Exit status 0 when it does, 1 when anything disagrees or was left
//! unfinished, 2 when the harness itself could not run.
//!
//! `paydesk-chaos run --seed 1 --payments 300 --kills 20` runs one campaign;
//! `paydesk-chaos verify --dir D` re-checks a kept run; `cashier` is the process it kills.

mod cashier;
mod plan;
mod run;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "paydesk-chaos", about = "crash, fault and reconciliation campaign for the paydesk engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What a seed plans: how many payments, how many kills.
#[derive(clap::Args)]
struct Size {
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 300)]
    payments: usize,
    #[arg(long, default_value_t = 20)]
    kills: usize,
}

#[derive(Subcommand)]
enum Command {
    /// One campaign: N payments, K kills, faults and scenarios drawn from the seed.
    Run {
        #[command(flatten)]
        size: Size,
        /// Tills taking payments at once, each its own process, terminal and ledger.
        #[arg(long, default_value_t = 4)]
        lanes: usize,
        /// Keep the run (config, ledger, truth.json, cashier.log) here; default a temporary
        /// directory, kept only when the run fails.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Print every event of every job.
        #[arg(long)]
        verbose: bool,
        /// The tills also upload to a real PostgreSQL (Debian's), stopped for 3 s every 20 s;
        /// the run ends by comparing every till's ledger with its rows there.
        #[arg(long)]
        sync: bool,
    },
    /// Print the plan of a seed (jobs, kills, fault phases) without running it.
    Plan {
        #[command(flatten)]
        size: Size,
    },
    /// Reconcile a kept run's ledger with its truth.json again.
    Verify {
        #[arg(long)]
        dir: PathBuf,
    },
    /// The cashier process (started by `run`): takes JSON job lines on standard input.
    Cashier {
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAYDESK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("paydesk-chaos: {e}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse();
    runtime.block_on(async move {
        match cli.command {
            Command::Run { size: Size { seed, payments, kills }, lanes, dir, json, verbose, sync } => {
                let opts = run::Options { seed, payments, kills, lanes, dir: dir.unwrap_or_default(), verbose, sync };
                campaign(opts, json).await
            }
            Command::Verify { dir } => verify(&dir),
            Command::Plan { size: Size { seed, payments, kills } } => {
                let plan = plan::Plan::new(seed, payments, kills);
                for job in &plan.jobs {
                    let kill = plan.kills.get(&job.n).map(|k| format!("{k:?}")).unwrap_or_default();
                    let faults = plan.faults_at(job.n).map(|f| format!("{f:?}")).unwrap_or_default();
                    println!("{} {kill} {faults}", serde_json::to_string(job).unwrap_or_default());
                }
                ExitCode::SUCCESS
            }
            Command::Cashier { config } => match cashier::serve(&config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cashier: {e}");
                    ExitCode::from(2)
                }
            },
        }
    })
}

async fn campaign(mut opts: run::Options, json: bool) -> ExitCode {
    let temp = match opts.dir.as_os_str().is_empty() {
        false => None,
        true => match tempfile::Builder::new().prefix("paydesk-chaos-").tempdir() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("paydesk-chaos: {e}");
                return ExitCode::from(2);
            }
        },
    };
    if let Some(t) = &temp {
        opts.dir = t.path().to_path_buf();
    }
    let report = match run::run(&opts).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paydesk-chaos: the harness could not run: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        print!("{}", run::summary(&report));
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        if let Some(t) = temp {
            let kept = t.keep();
            eprintln!("paydesk-chaos: FAILED; the run is kept in {}", kept.display());
        }
        ExitCode::from(1)
    }
}

fn verify(dir: &std::path::Path) -> ExitCode {
    let result = (|| -> Result<Vec<String>, String> {
        let truth: paydesk_sandbox::Truth =
            serde_json::from_slice(&std::fs::read(dir.join("truth.json")).map_err(|e| format!("truth.json: {e}"))?)
                .map_err(|e| format!("truth.json: {e}"))?;
        run::verify_lanes(dir, &truth)
    })();
    match result {
        Ok(m) if m.is_empty() => {
            println!("the ledger agrees with the sandbox's truth");
            ExitCode::SUCCESS
        }
        Ok(m) => {
            println!("{} mismatches:", m.len());
            for line in m {
                println!("  {line}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("paydesk-chaos: {e}");
            ExitCode::from(2)
        }
    }
}
