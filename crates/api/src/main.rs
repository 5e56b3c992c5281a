//! The `babyshield-api` binary.

use std::process::ExitCode;

use babyshield_api::config::{Cli, Command};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let quiet = matches!(command, Command::Healthcheck);
    if !quiet {
        babyshield_api::telemetry::init(cli.config.log_format, &cli.config.log_level);
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("starting the async runtime failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(babyshield_api::run(command, cli.config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if quiet => {
            eprintln!("unhealthy: {error:#}");
            ExitCode::FAILURE
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "babyshield-api failed");
            ExitCode::FAILURE
        }
    }
}
