//! Objectives, alert rules and their validation.
//!
//! The default alerts are the multiwindow, multi-burn-rate alerts of the
//! Google SRE Workbook, chapter "Alerting on SLOs". They page when 2 % of the
//! 30-day budget burns within an hour (burn rate 14.4 over 1 h and 5 m) or 5 %
//! within 6 hours (burn rate 6 over 6 h and 30 m). They open a ticket when
//! 10 % burns within 3 days (burn rate 1 over 3 d and 6 h).

use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

use crate::window::Window;

/// Length of every objective's period, the window of its error budget.
pub const PERIOD: Duration = Duration::from_secs(30 * 86_400);

/// Smallest allowed bad fraction (1 − target, or the maximum error rate).
/// Below it burn rates could exceed the range of `f64`.
pub const MIN_ALLOWED_BAD_FRACTION: f64 = 1e-9;

/// The three objectives that the engine evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveKind {
    /// Share of requests that did not fail with a server error (5xx).
    Availability,
    /// Share of requests that finished within the latency threshold.
    Latency,
    /// Share of requests that failed with a server error, kept under a
    /// maximum.
    ErrorRate,
}

impl ObjectiveKind {
    /// Every objective, in report order.
    pub const ALL: [ObjectiveKind; 3] = [
        ObjectiveKind::Availability,
        ObjectiveKind::Latency,
        ObjectiveKind::ErrorRate,
    ];

    /// Name used as JSON key and as a metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveKind::Availability => "availability",
            ObjectiveKind::Latency => "latency",
            ObjectiveKind::ErrorRate => "error_rate",
        }
    }
}

impl std::fmt::Display for ObjectiveKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Urgency of an alert, which sets the objective's status while it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Someone has to act now; a firing page makes the objective `critical`.
    Page,
    /// Someone has to act within days; a firing ticket makes the objective
    /// `warning`.
    Ticket,
}

/// One multiwindow burn-rate alert: it fires when the burn rate over both
/// windows is at or above `burn_rate_threshold`, and each window has at least
/// the configured minimum number of events.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// Name shown in the report, such as `fast_burn`.
    pub name: String,
    /// Urgency of the alert.
    pub severity: Severity,
    /// Window that shows the budget is really being spent.
    pub long_window: Window,
    /// Window that shows the spending still goes on, so the alert clears soon
    /// after the problem stops.
    pub short_window: Window,
    /// Minimum burn rate in both windows for the alert to fire.
    pub burn_rate_threshold: f64,
}

impl AlertRule {
    /// Creates a rule.
    pub fn new(
        name: impl Into<String>,
        severity: Severity,
        long_window: Window,
        short_window: Window,
        burn_rate_threshold: f64,
    ) -> Self {
        Self {
            name: name.into(),
            severity,
            long_window,
            short_window,
            burn_rate_threshold,
        }
    }

    /// Returns the three rules of the Google SRE Workbook for a 30-day period:
    /// `fast_burn` (page, 1 h and 5 m, 14.4), `medium_burn` (page, 6 h and
    /// 30 m, 6) and `slow_burn` (ticket, 3 d and 6 h, 1).
    pub fn workbook_defaults() -> Vec<AlertRule> {
        vec![
            AlertRule::new(
                "fast_burn",
                Severity::Page,
                Window::OneHour,
                Window::FiveMinutes,
                14.4,
            ),
            AlertRule::new(
                "medium_burn",
                Severity::Page,
                Window::SixHours,
                Window::ThirtyMinutes,
                6.0,
            ),
            AlertRule::new(
                "slow_burn",
                Severity::Ticket,
                Window::ThreeDays,
                Window::SixHours,
                1.0,
            ),
        ]
    }
}

/// Configuration of an engine. [`SloConfig::default`] gives the service's
/// objectives; [`SloConfig::validate`] checks a changed one.
#[derive(Debug, Clone, PartialEq)]
pub struct SloConfig {
    /// Minimum share of requests without a server error over 30 days.
    /// Default 0.999, which allows 43.2 minutes of full outage a month.
    pub availability_target: f64,
    /// Latency at or under which a request counts as fast. Default 800 ms.
    pub latency_threshold: Duration,
    /// Minimum share of requests at or under `latency_threshold`. Default 0.95.
    pub latency_target: f64,
    /// Maximum share of requests with a server error. Default 0.001.
    pub max_error_rate: f64,
    /// Burn-rate alerts evaluated for every objective.
    pub alert_rules: Vec<AlertRule>,
    /// Minimum number of events in an alert's long window before it may fire,
    /// and in the 30-day window before an exhausted budget changes the
    /// status. Default 100, so a single failure in a quiet hour does not page.
    pub min_events_long_window: u64,
    /// Minimum number of events in an alert's short window before it may fire.
    /// Default 10.
    pub min_events_short_window: u64,
}

impl Default for SloConfig {
    fn default() -> Self {
        Self {
            availability_target: 0.999,
            latency_threshold: Duration::from_millis(800),
            latency_target: 0.95,
            max_error_rate: 0.001,
            alert_rules: AlertRule::workbook_defaults(),
            min_events_long_window: 100,
            min_events_short_window: 10,
        }
    }
}

impl SloConfig {
    /// Checks every target, the latency threshold and every alert rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_fraction(ObjectiveKind::Availability, self.availability_target)?;
        check_fraction(ObjectiveKind::Latency, self.latency_target)?;
        check_fraction(ObjectiveKind::ErrorRate, self.max_error_rate)?;
        if self.latency_threshold.is_zero() {
            return Err(ConfigError::ZeroLatencyThreshold);
        }
        for rule in &self.alert_rules {
            let threshold = rule.burn_rate_threshold;
            if !(threshold.is_finite() && threshold > 0.0) {
                return Err(ConfigError::InvalidBurnRateThreshold {
                    alert: rule.name.clone(),
                    value: threshold,
                });
            }
            if rule.short_window >= rule.long_window {
                return Err(ConfigError::ShortWindowNotShorter {
                    alert: rule.name.clone(),
                    short: rule.short_window,
                    long: rule.long_window,
                });
            }
        }
        Ok(())
    }

    /// Share of events an objective may get wrong: its error budget as a
    /// fraction of all events.
    pub fn allowed_bad_fraction(&self, objective: ObjectiveKind) -> f64 {
        match objective {
            ObjectiveKind::Availability => complement(self.availability_target),
            ObjectiveKind::Latency => complement(self.latency_target),
            ObjectiveKind::ErrorRate => self.max_error_rate,
        }
    }
}

/// Returns `1 − target` rounded to 15 decimal places.
///
/// A decimal target such as 0.999 has no exact binary form, and the
/// difference carries its representation error of about 1e-16:
/// `1.0 - 0.999` is 0.0010000000000000009, which would make a 1 % error rate
/// a burn rate of 9.99999999999999 instead of 10. Rounding removes that error
/// and keeps every target with up to 15 decimal places exact.
fn complement(target: f64) -> f64 {
    const SCALE: f64 = 1e15;
    ((1.0 - target) * SCALE).round() / SCALE
}

fn check_fraction(objective: ObjectiveKind, value: f64) -> Result<(), ConfigError> {
    if !(value > 0.0 && value < 1.0) {
        return Err(ConfigError::TargetOutOfRange { objective, value });
    }
    let allowed = match objective {
        ObjectiveKind::ErrorRate => value,
        ObjectiveKind::Availability | ObjectiveKind::Latency => complement(value),
    };
    if allowed < MIN_ALLOWED_BAD_FRACTION {
        return Err(ConfigError::BudgetTooSmall {
            objective,
            value,
            allowed,
        });
    }
    Ok(())
}

/// Invalid [`SloConfig`].
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// A target or maximum rate is not strictly between 0 and 1 (NaN included).
    #[error("invalid {objective} target {value}: it must be strictly between 0 and 1")]
    TargetOutOfRange {
        /// Objective whose target is invalid.
        objective: ObjectiveKind,
        /// The rejected value.
        value: f64,
    },
    /// A target leaves less than [`MIN_ALLOWED_BAD_FRACTION`] of events as
    /// error budget.
    #[error(
        "invalid {objective} target {value}: it allows a bad fraction of {allowed}, below the minimum of 1e-9"
    )]
    BudgetTooSmall {
        /// Objective whose target is invalid.
        objective: ObjectiveKind,
        /// The rejected value.
        value: f64,
        /// Bad fraction the value allows.
        allowed: f64,
    },
    /// The latency threshold is zero, so no request could be fast.
    #[error("invalid latency threshold 0: it must be greater than zero")]
    ZeroLatencyThreshold,
    /// An alert's burn-rate threshold is not a finite positive number.
    #[error(
        "invalid burn-rate threshold {value} in alert rule `{alert}`: it must be finite and greater than zero"
    )]
    InvalidBurnRateThreshold {
        /// Name of the alert rule.
        alert: String,
        /// The rejected threshold.
        value: f64,
    },
    /// An alert's short window is not shorter than its long window.
    #[error(
        "invalid windows in alert rule `{alert}`: short window {short} must be shorter than long window {long}"
    )]
    ShortWindowNotShorter {
        /// Name of the alert rule.
        alert: String,
        /// The configured short window.
        short: Window,
        /// The configured long window.
        long: Window,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        assert_eq!(SloConfig::default().validate(), Ok(()));
    }

    #[test]
    fn allowed_fraction_is_decimal() {
        let config = SloConfig::default();
        assert_eq!(
            config.allowed_bad_fraction(ObjectiveKind::Availability),
            0.001
        );
        assert_eq!(config.allowed_bad_fraction(ObjectiveKind::Latency), 0.05);
        assert_eq!(config.allowed_bad_fraction(ObjectiveKind::ErrorRate), 0.001);
        let five_nines = SloConfig {
            availability_target: 0.99999,
            ..SloConfig::default()
        };
        assert_eq!(
            five_nines.allowed_bad_fraction(ObjectiveKind::Availability),
            1e-5
        );
        assert_eq!(complement(0.999_999_999), 1e-9);
        assert_eq!(complement(0.9995), 0.0005);
    }

    #[test]
    fn target_of_one_is_rejected() {
        let config = SloConfig {
            availability_target: 1.0,
            ..SloConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::TargetOutOfRange {
                objective: ObjectiveKind::Availability,
                value: 1.0
            })
        );
    }

    #[test]
    fn nan_target_is_rejected() {
        let config = SloConfig {
            latency_target: f64::NAN,
            ..SloConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::TargetOutOfRange {
                objective: ObjectiveKind::Latency,
                ..
            })
        ));
    }

    #[test]
    fn zero_error_rate_is_rejected() {
        let config = SloConfig {
            max_error_rate: 0.0,
            ..SloConfig::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn tiny_error_rate_is_rejected() {
        let config = SloConfig {
            max_error_rate: 1e-12,
            ..SloConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(ConfigError::BudgetTooSmall {
                objective: ObjectiveKind::ErrorRate,
                ..
            })
        ));
    }

    #[test]
    fn zero_latency_threshold_is_rejected() {
        let config = SloConfig {
            latency_threshold: Duration::ZERO,
            ..SloConfig::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::ZeroLatencyThreshold));
    }

    #[test]
    fn infinite_burn_threshold_is_rejected() {
        let mut config = SloConfig::default();
        config.alert_rules[0].burn_rate_threshold = f64::INFINITY;
        assert!(matches!(
            config.validate(),
            Err(ConfigError::InvalidBurnRateThreshold { .. })
        ));
    }

    #[test]
    fn swapped_alert_windows_are_rejected() {
        let config = SloConfig {
            alert_rules: vec![AlertRule::new(
                "swapped",
                Severity::Page,
                Window::FiveMinutes,
                Window::OneHour,
                14.4,
            )],
            ..SloConfig::default()
        };
        let error = config.validate().expect_err("windows are swapped");
        assert_eq!(
            error.to_string(),
            "invalid windows in alert rule `swapped`: short window 1h must be shorter than long window 5m"
        );
    }
}
