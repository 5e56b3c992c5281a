//! Postgres: database creation, pools and migrations.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

use crate::config::{mask_url, Config};

/// Migrations embedded in the binary from the workspace's `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Connection settings applied to every session: a statement timeout so no
/// query outlives its request, and no JIT, because the planner otherwise
/// spends hundreds of milliseconds compiling short search queries.
fn connect_options(config: &Config) -> anyhow::Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(&config.database_url).with_context(|| {
        format!(
            "DATABASE_URL is invalid: {}",
            mask_url(&config.database_url)
        )
    })?;
    Ok(options
        .application_name("babyshield-api")
        .options([
            (
                "statement_timeout",
                config.database_statement_timeout_ms.to_string(),
            ),
            ("jit", "off".to_owned()),
        ])
        .disable_statement_logging())
}

/// Creates the configured database when it does not exist yet, by way of
/// the server's `postgres` maintenance database.
pub async fn ensure_database(config: &Config) -> anyhow::Result<()> {
    let options = connect_options(config)?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut connection = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .map_err(|error| unreachable_error("Postgres", &config.database_url, &error))?;

    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut connection)
            .await?;
    if !exists {
        let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&statement).execute(&mut connection).await {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // 42P04: duplicate_database, when another process won the race.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e).context(format!("creating database {name} failed")),
        }
    }
    connection.close().await.ok();
    Ok(())
}

/// Opens the pool that request traffic uses.
pub async fn connect_pool(config: &Config) -> anyhow::Result<PgPool> {
    let options = connect_options(config)?;
    PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_millis(config.database_acquire_timeout_ms))
        .connect_with(options)
        .await
        .map_err(|error| unreachable_error("Postgres", &config.database_url, &error))
}

/// Opens a one-connection pool for readiness checks, so a check never waits
/// behind request traffic in the main pool's queue.
pub fn connect_check_pool(config: &Config) -> anyhow::Result<PgPool> {
    let options = connect_options(config)?;
    Ok(PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(config.readiness_check_timeout())
        .test_before_acquire(false)
        .connect_lazy_with(options))
}

/// Runs the embedded migrations.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("running database migrations failed")?;
    Ok(())
}

/// Builds the one-line start-up error for an unreachable dependency: which
/// URL (password masked), what failed, and how to start it.
pub fn unreachable_error(what: &str, url: &str, error: &dyn std::fmt::Display) -> anyhow::Error {
    let hint = match what {
        "Postgres" => "start it (for example `scripts/services.sh`, or `pg_ctlcluster 15 main start`) or set DATABASE_URL",
        _ => "start it (for example `scripts/services.sh`, or `redis-server --daemonize yes`), set REDIS_URL, or set REDIS_URL= (empty) to run without Redis",
    };
    anyhow::anyhow!(
        "{what} is not reachable at {}: {error}; {hint}",
        mask_url(url)
    )
}
