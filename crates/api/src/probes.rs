//! The service's synthetic probes: `healthz` over the real listener and
//! `search` for a canary recall through the users' search path.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use babyshield_monitoring::Probe;
use sqlx::PgPool;

use crate::import::record::Agency;
use crate::search::request::SearchRequest;
use crate::search::run_search;

/// Agency of the canary recall: a real CPSC crib recall that is part of the
/// bundled sample and is restored at start-up if missing, so the search
/// probe tests search, not the data set loaded.
pub const CANARY_AGENCY: Agency = Agency::Cpsc;
/// The canary's recall id.
pub const CANARY_ID: &str = "26-191";
/// Product text the probe searches for; the canary must be among the
/// results.
pub const CANARY_TEXT: &str = "crib mattresses";

/// Requests `/api/v1/monitoring/healthz` over the service's own listener.
pub struct HealthzProbe {
    /// Address the listener bound, set once serving starts.
    pub address: Arc<OnceLock<SocketAddr>>,
}

impl Probe for HealthzProbe {
    fn name(&self) -> &'static str {
        "healthz"
    }

    fn run(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let address = *self
                .address
                .get()
                .ok_or_else(|| "the listener is not bound yet".to_owned())?;
            crate::healthcheck::check(address).await
        })
    }
}

/// Searches for the canary recall through [`run_search`], as users do.
pub struct SearchProbe {
    /// Main pool, the one users' searches use.
    pub pool: PgPool,
}

impl Probe for SearchProbe {
    fn name(&self) -> &'static str {
        "search"
    }

    fn run(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let query = SearchRequest {
                product: Some(CANARY_TEXT.to_owned()),
                id: Some(CANARY_ID.to_owned()),
                agencies: Some(vec![CANARY_AGENCY.code().to_owned()]),
                ..SearchRequest::default()
            }
            .validate()
            .map_err(|e| format!("the canary search is invalid: {e}"))?;
            let data = run_search(&self.pool, &query)
                .await
                .map_err(|e| format!("search failed: {e}"))?;
            if data.items.iter().any(|item| item.id == CANARY_ID) {
                Ok(())
            } else {
                Err(format!(
                    "canary recall {CANARY_ID} not found by a search for {CANARY_TEXT:?}"
                ))
            }
        })
    }
}

/// Stores the canary recall from the bundled sample when it is missing.
pub async fn ensure_canary(pool: &PgPool) -> anyhow::Result<()> {
    let present: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM recalls_enhanced WHERE source = $1 AND source_id = $2)",
    )
    .bind(CANARY_AGENCY.code())
    .bind(CANARY_ID)
    .fetch_one(pool)
    .await?;
    if present {
        return Ok(());
    }
    let sample = crate::import::parse::normalized::read_normalized(crate::import::BUNDLED_SAMPLE)
        .context("the bundled recall sample is unreadable")?;
    let canary: Vec<_> = sample
        .records
        .into_iter()
        .filter(|r| r.source == CANARY_AGENCY && r.source_id == CANARY_ID)
        .take(1)
        .collect();
    anyhow::ensure!(
        !canary.is_empty(),
        "the bundled sample lacks canary recall {CANARY_ID}"
    );
    crate::import::store::upsert(pool, &canary).await?;
    crate::import::store::rebuild_search_terms(pool).await?;
    tracing::info!(
        recall = CANARY_ID,
        "canary recall restored for the search probe"
    );
    Ok(())
}
