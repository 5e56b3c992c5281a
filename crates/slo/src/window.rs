//! Evaluation windows and a fixed-size map from window to value.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// A rolling evaluation window, labelled as in the report (`"5m"` … `"30d"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Window {
    /// The last 5 minutes.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// The last 30 minutes.
    #[serde(rename = "30m")]
    ThirtyMinutes,
    /// The last hour.
    #[serde(rename = "1h")]
    OneHour,
    /// The last 6 hours.
    #[serde(rename = "6h")]
    SixHours,
    /// The last day.
    #[serde(rename = "1d")]
    OneDay,
    /// The last 3 days.
    #[serde(rename = "3d")]
    ThreeDays,
    /// The last 30 days, which is also the period of every objective.
    #[serde(rename = "30d")]
    ThirtyDays,
}

impl Window {
    /// Every window, shortest first.
    pub const ALL: [Window; 7] = [
        Window::FiveMinutes,
        Window::ThirtyMinutes,
        Window::OneHour,
        Window::SixHours,
        Window::OneDay,
        Window::ThreeDays,
        Window::ThirtyDays,
    ];

    /// Label used as JSON key and as a metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Window::FiveMinutes => "5m",
            Window::ThirtyMinutes => "30m",
            Window::OneHour => "1h",
            Window::SixHours => "6h",
            Window::OneDay => "1d",
            Window::ThreeDays => "3d",
            Window::ThirtyDays => "30d",
        }
    }

    /// Nominal length of the window in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            Window::FiveMinutes => 5 * 60,
            Window::ThirtyMinutes => 30 * 60,
            Window::OneHour => 3_600,
            Window::SixHours => 6 * 3_600,
            Window::OneDay => 86_400,
            Window::ThreeDays => 3 * 86_400,
            Window::ThirtyDays => 30 * 86_400,
        }
    }

    /// Nominal length of the window.
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.seconds())
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One value per [`Window`], serialized as a JSON object keyed by window label
/// in the order of [`Window::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PerWindow<T> {
    /// Value for the 5-minute window.
    #[serde(rename = "5m")]
    pub five_minutes: T,
    /// Value for the 30-minute window.
    #[serde(rename = "30m")]
    pub thirty_minutes: T,
    /// Value for the 1-hour window.
    #[serde(rename = "1h")]
    pub one_hour: T,
    /// Value for the 6-hour window.
    #[serde(rename = "6h")]
    pub six_hours: T,
    /// Value for the 1-day window.
    #[serde(rename = "1d")]
    pub one_day: T,
    /// Value for the 3-day window.
    #[serde(rename = "3d")]
    pub three_days: T,
    /// Value for the 30-day window.
    #[serde(rename = "30d")]
    pub thirty_days: T,
}

impl<T> PerWindow<T> {
    /// Builds the map by calling `value` once per window, shortest first.
    pub fn from_fn(mut value: impl FnMut(Window) -> T) -> Self {
        Self {
            five_minutes: value(Window::FiveMinutes),
            thirty_minutes: value(Window::ThirtyMinutes),
            one_hour: value(Window::OneHour),
            six_hours: value(Window::SixHours),
            one_day: value(Window::OneDay),
            three_days: value(Window::ThreeDays),
            thirty_days: value(Window::ThirtyDays),
        }
    }

    /// Returns the value for `window`.
    pub fn get(&self, window: Window) -> &T {
        match window {
            Window::FiveMinutes => &self.five_minutes,
            Window::ThirtyMinutes => &self.thirty_minutes,
            Window::OneHour => &self.one_hour,
            Window::SixHours => &self.six_hours,
            Window::OneDay => &self.one_day,
            Window::ThreeDays => &self.three_days,
            Window::ThirtyDays => &self.thirty_days,
        }
    }

    /// Returns a mutable reference to the value for `window`.
    pub fn get_mut(&mut self, window: Window) -> &mut T {
        match window {
            Window::FiveMinutes => &mut self.five_minutes,
            Window::ThirtyMinutes => &mut self.thirty_minutes,
            Window::OneHour => &mut self.one_hour,
            Window::SixHours => &mut self.six_hours,
            Window::OneDay => &mut self.one_day,
            Window::ThreeDays => &mut self.three_days,
            Window::ThirtyDays => &mut self.thirty_days,
        }
    }

    /// Iterates over `(window, value)` pairs, shortest window first.
    pub fn iter(&self) -> impl Iterator<Item = (Window, &T)> + '_ {
        Window::ALL
            .into_iter()
            .map(move |window| (window, self.get(window)))
    }

    /// Applies `f` to every value.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> PerWindow<U> {
        PerWindow::from_fn(|window| f(self.get(window)))
    }
}
