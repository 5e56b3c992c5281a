//! Monitoring for BabyShield API: the monitoring router (liveness,
//! readiness, synthetic probes, Prometheus metrics), the HTTP layer that
//! counts, times and tags every request, and shared dependency checks.
//!
//! It knows nothing of recalls: the service plugs its dependencies in as
//! [`readiness::DependencyCheck`] implementations.

pub mod layer;
pub mod metrics;
pub mod probes;
pub mod readiness;
pub mod request_id;
pub mod router;
pub mod slo;

pub use layer::{RequestTracking, TrackRequestsLayer};
pub use metrics::{BuildInfo, ErrorKind, Metrics};
pub use probes::{Probe, ProbeResult, Prober};
pub use readiness::{CheckOutcome, DependencyCheck, Readiness};
pub use router::{router, MonitoringState};
pub use slo::{SloSetupError, SloTracker, DEFAULT_EXCLUDED_ROUTES};
