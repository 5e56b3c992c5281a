//! Error-budget, burn-rate, alert and status arithmetic for one objective.
//!
//! - Burn rate over a window: bad fraction ÷ allowed bad fraction. A burn
//!   rate of 1 spends exactly the budget over one period. Without events the
//!   burn rate is 0.
//! - Error budget: over the 30-day window, `total` = allowed bad fraction ×
//!   events and `consumed` = bad events.
//! - Time to exhaustion: remaining ratio × period ÷ 1-hour burn rate, a linear
//!   extrapolation that ignores events leaving the window. It is capped at the
//!   period, so it stays finite when the burn rate is 0.
//! - Status: `critical` while a page alert fires. Otherwise `warning` while a
//!   ticket alert fires, or when the budget is exhausted and the 30-day
//!   window has at least `min_events_long_window` events. Otherwise `ok`.
//!
//! Burn rates and budget ratios are compared with their thresholds with a
//! relative tolerance of 1e-9. Then a value equal to the threshold in decimal
//! arithmetic also reaches it in binary floating point. For example, 144
//! failures in 10,000 requests is a burn rate of 14.4 against a 0.1 % budget,
//! but `0.0144 / 0.001` evaluates to 14.399999999999999.

use crate::config::{ObjectiveKind, Severity, SloConfig, PERIOD};
use crate::engine::WindowStats;
use crate::report::{AlertState, Comparison, ErrorBudget, ObjectiveReport, Status};
use crate::window::{PerWindow, Window};

/// Relative tolerance of threshold comparisons (see the module docs).
const TOLERANCE: f64 = 1e-9;

fn at_or_above(value: f64, threshold: f64) -> bool {
    value >= threshold * (1.0 - TOLERANCE)
}

/// Evaluates `objective` over the window counts.
pub(crate) fn evaluate(
    objective: ObjectiveKind,
    config: &SloConfig,
    windows: &PerWindow<WindowStats>,
) -> ObjectiveReport {
    let allowed = config.allowed_bad_fraction(objective);
    let (target, comparison) = match objective {
        ObjectiveKind::Availability => (config.availability_target, Comparison::AtLeast),
        ObjectiveKind::Latency => (config.latency_target, Comparison::AtLeast),
        ObjectiveKind::ErrorRate => (config.max_error_rate, Comparison::AtMost),
    };

    let events = windows.map(|stats| stats.events);
    let bad_events = windows.map(|stats| match objective {
        ObjectiveKind::Latency => stats.slow,
        ObjectiveKind::Availability | ObjectiveKind::ErrorRate => stats.errors,
    });
    let sli = PerWindow::from_fn(|window| {
        let events = *events.get(window);
        let bad = *bad_events.get(window);
        match comparison {
            Comparison::AtLeast => ratio(events - bad, events, 1.0),
            Comparison::AtMost => ratio(bad, events, 0.0),
        }
    });
    let burn_rates = PerWindow::from_fn(|window| {
        ratio(*bad_events.get(window), *events.get(window), 0.0) / allowed
    });

    let error_budget = error_budget(
        objective,
        allowed,
        events.thirty_days,
        bad_events.thirty_days,
    );
    let alerts: Vec<AlertState> = config
        .alert_rules
        .iter()
        .map(|rule| {
            let long_burn_rate = *burn_rates.get(rule.long_window);
            let short_burn_rate = *burn_rates.get(rule.short_window);
            let min_events_met = *events.get(rule.long_window) >= config.min_events_long_window
                && *events.get(rule.short_window) >= config.min_events_short_window;
            let firing = min_events_met
                && at_or_above(long_burn_rate, rule.burn_rate_threshold)
                && at_or_above(short_burn_rate, rule.burn_rate_threshold);
            AlertState {
                name: rule.name.clone(),
                severity: rule.severity,
                long_window: rule.long_window,
                short_window: rule.short_window,
                threshold: rule.burn_rate_threshold,
                long_burn_rate,
                short_burn_rate,
                min_events_met,
                firing,
            }
        })
        .collect();

    let (time_to_exhaustion_seconds, exhaustion_within_period) =
        time_to_exhaustion(&error_budget, *burn_rates.get(Window::OneHour));
    let status = status(
        &alerts,
        &error_budget,
        events.thirty_days >= config.min_events_long_window,
    );

    ObjectiveReport {
        target,
        comparison,
        period_seconds: PERIOD.as_secs(),
        status,
        no_data: events.thirty_days == 0,
        sli,
        events,
        bad_events,
        coverage_seconds: windows.map(|stats| stats.coverage_seconds),
        error_budget,
        burn_rates,
        alerts,
        time_to_exhaustion_seconds,
        exhaustion_within_period,
        latency: None,
    }
}

/// `numerator / denominator`, or `if_empty` when the denominator is 0.
fn ratio(numerator: u64, denominator: u64, if_empty: f64) -> f64 {
    if denominator == 0 {
        if_empty
    } else {
        numerator as f64 / denominator as f64
    }
}

fn error_budget(objective: ObjectiveKind, allowed: f64, events: u64, bad: u64) -> ErrorBudget {
    let total = allowed * events as f64;
    // Without events `total` is 0 and so is `bad`: nothing has been spent.
    let consumed_ratio = if events == 0 {
        0.0
    } else {
        ratio(bad, events, 0.0) / allowed
    };
    let (total_minutes, remaining_minutes) = match objective {
        ObjectiveKind::Availability => {
            let minutes = allowed * PERIOD.as_secs_f64() / 60.0;
            (Some(minutes), Some((1.0 - consumed_ratio) * minutes))
        }
        ObjectiveKind::Latency | ObjectiveKind::ErrorRate => (None, None),
    };
    ErrorBudget {
        total,
        consumed: bad,
        consumed_ratio,
        remaining_ratio: 1.0 - consumed_ratio,
        exhausted: bad > 0 && at_or_above(consumed_ratio, 1.0),
        total_minutes,
        remaining_minutes,
    }
}

/// Returns the seconds until exhaustion, capped at the period, and whether
/// exhaustion falls within the period.
fn time_to_exhaustion(budget: &ErrorBudget, burn_rate: f64) -> (f64, bool) {
    let period = PERIOD.as_secs_f64();
    if budget.exhausted {
        return (0.0, true);
    }
    if burn_rate <= 0.0 {
        return (period, false);
    }
    let seconds = budget.remaining_ratio.max(0.0) * period / burn_rate;
    if seconds < period {
        (seconds, true)
    } else {
        (period, false)
    }
}

fn status(alerts: &[AlertState], budget: &ErrorBudget, enough_events: bool) -> Status {
    let firing = |severity| {
        alerts
            .iter()
            .any(|alert| alert.firing && alert.severity == severity)
    };
    if firing(Severity::Page) {
        Status::Critical
    } else if firing(Severity::Ticket) || (budget.exhausted && enough_events) {
        Status::Warning
    } else {
        Status::Ok
    }
}
