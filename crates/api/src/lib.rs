//! BabyShield API: search of baby and children's product recalls, with the
//! operational surface an on-call engineer needs.
//!
//! `main` only parses the command line and calls into [`run`]; tests build
//! the same router through [`app::prepare`] and [`app::router`].

pub mod admin;
pub mod app;
pub mod cache;
pub mod checks;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod healthcheck;
pub mod identity;
pub mod import;
pub mod openapi;
pub mod probes;
pub mod ratelimit;
pub mod redis_link;
pub mod search;
pub mod shutdown;
pub mod telemetry;

use config::{ApiKeyCommand, Command, Config, ImportArgs};

/// Runs one command of the command line.
pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => app::serve(config).await,
        Command::Migrate => {
            db::ensure_database(&config).await?;
            let pool = db::connect_pool(&config).await?;
            db::migrate(&pool).await?;
            tracing::info!(
                migrations = db::MIGRATOR.iter().count(),
                "migrations applied"
            );
            Ok(())
        }
        Command::Import(ImportArgs {
            paths,
            write_sample: Some(output),
        }) => {
            tokio::task::spawn_blocking(move || import::write_sample(&paths, &output)).await??;
            Ok(())
        }
        Command::Import(ImportArgs {
            paths,
            write_sample: None,
        }) => {
            db::ensure_database(&config).await?;
            let pool = db::connect_pool(&config).await?;
            db::migrate(&pool).await?;
            import::import_paths(&pool, paths).await?;
            if config.redis_enabled() {
                // Cached results predate the import; a failure here only
                // leaves them until their TTL ends.
                let redis =
                    checks::redis_pool(&config.redis_url, 1, config.readiness_check_timeout())?;
                match cache::clear_redis(&redis).await {
                    Ok(removed) => tracing::info!(removed, "search cache cleared after import"),
                    Err(error) => {
                        tracing::warn!(%error, "clearing the search cache failed; entries expire with their TTL")
                    }
                }
            }
            Ok(())
        }
        Command::ApiKey(action) => {
            db::ensure_database(&config).await?;
            let pool = db::connect_pool(&config).await?;
            db::migrate(&pool).await?;
            match action {
                ApiKeyCommand::Create { user_id } => {
                    let key = identity::create_key(&pool, &user_id).await?;
                    println!("{key}");
                    tracing::info!(%user_id, "api key created");
                }
                ApiKeyCommand::Revoke { user_id } => {
                    let revoked = identity::revoke_keys(&pool, &user_id).await?;
                    tracing::info!(%user_id, revoked, "api keys revoked");
                }
            }
            Ok(())
        }
        Command::Healthcheck => healthcheck::check(config.bind_address)
            .await
            .map_err(anyhow::Error::msg),
    }
}
