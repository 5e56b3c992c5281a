//! BabyShield API: search of baby and children's product recalls, with the
//! operational surface an on-call engineer needs.
//!
//! `main` only parses the command line and calls into [`run`]; tests build
//! the same router through [`app::prepare`] and [`app::router`].

pub mod app;
pub mod checks;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod healthcheck;
pub mod import;
pub mod openapi;
pub mod probes;
pub mod search;
pub mod shutdown;
pub mod telemetry;

use config::{Command, Config, ImportArgs};

/// Runs one command of the command line.
pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => app::serve(config).await,
        Command::Migrate => {
            db::ensure_database(&config).await?;
            let pool = db::connect_pool(&config).await?;
            db::migrate(&pool).await?;
            tracing::info!(migrations = db::MIGRATOR.iter().count(), "migrations applied");
            Ok(())
        }
        Command::Import(ImportArgs { paths, write_sample: Some(output) }) => {
            tokio::task::spawn_blocking(move || import::write_sample(&paths, &output)).await??;
            Ok(())
        }
        Command::Import(ImportArgs { paths, write_sample: None }) => {
            db::ensure_database(&config).await?;
            let pool = db::connect_pool(&config).await?;
            db::migrate(&pool).await?;
            import::import_paths(&pool, paths).await?;
            Ok(())
        }
        Command::Healthcheck => healthcheck::check(config.bind_address)
            .await
            .map_err(anyhow::Error::msg),
    }
}
