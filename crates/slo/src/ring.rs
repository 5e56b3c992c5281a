//! Lock-free ring of time slots, each holding a latency histogram and error
//! and slow-request counters as atomic words.
//!
//! A ring has `SLOTS` slots of `SLOT_MS` milliseconds. Time period `p`
//! (`unix_ms / SLOT_MS`) lives in slot `p % SLOTS`, and `p / SLOTS` is its
//! *lap*. Every slot reuse therefore starts a new lap.
//!
//! # Rotation without locks
//!
//! Resetting a slot with a separate "clear" step would race with threads that
//! still add to the old period. Instead each counter word carries the lap it
//! counts for: the top [`TAG_BITS`] bits hold the lap (modulo 2^24) and the
//! low [`COUNT_BITS`] bits the count. Updating a word has one of three
//! outcomes:
//!
//! - the word counts for the same lap: its count goes up by one;
//! - the word counts for an older lap, or its count is 0: it is replaced with
//!   `(lap, 1)`, which resets and counts in one step;
//! - the word counts for a newer lap: it keeps its value and the event is dropped.
//!
//! The common first case costs a single `fetch_add`. When the value that
//! `fetch_add` returns shows another case, a compare-and-swap loop repairs
//! the blind add: an add into stale content is replaced together with that
//! content, and an add into a newer lap is subtracted again. So a word only
//! contains counts of a single lap, and no interleaving of writers moves a count
//! from one period into another. The one exception is transient: between
//! such an add and its repair, a reader can see a newer lap's count one too
//! high.
//!
//! Readers ignore words whose lap differs from the period they read.
//!
//! Each slot also has an epoch word with the newest lap written to the slot
//! (updated with `fetch_max`). Writers check it first, so an event for a
//! period whose slot has already moved on to a later period is dropped as a
//! whole and counted in `late_events_dropped`. A writer can pass the check
//! just before another thread moves the slot to a later lap. Then it can
//! still lose its error or slow mark for that old period while its histogram
//! count stays. That takes two writers whose timestamps are a full ring apart
//! (6 hours or 30 days) at the same instant.
//!
//! Readers read the slot only if its epoch equals the lap they want, so a
//! period whose slot was reused reads as empty instead of as a mix of two
//! periods.
//!
//! All accesses are `Relaxed`: each word is correct on its own, and a reader
//! running alongside writers may see some words of an event before others.
//! The engine clamps bad counts to the event count for that reason.
//!
//! Tags are compared modulo 2^24, so two laps are ordered correctly while
//! they are less than 2^23 laps apart: 5,700 years for the 6-hour ring. The
//! epoch word stores the full lap.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::histogram::{LatencyHistogram, BUCKET_COUNT};

/// Bits of a word that hold the lap tag.
pub(crate) const TAG_BITS: u32 = 24;

/// Bits of a word that hold the count; counts saturate at 2^40 − 1.
pub(crate) const COUNT_BITS: u32 = 64 - TAG_BITS;

const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

/// Words in a slot: the epoch, the error counter, the slow-request counter and
/// the histogram buckets.
const EPOCH_WORD: usize = 0;
const ERRORS_WORD: usize = 1;
const SLOW_WORD: usize = 2;
const HISTOGRAM_WORD: usize = 3;
pub(crate) const WORDS_PER_SLOT: usize = HISTOGRAM_WORD + BUCKET_COUNT;

fn tag_of(lap: u64) -> u64 {
    lap & TAG_MASK
}

fn word_tag(word: u64) -> u64 {
    word >> COUNT_BITS
}

fn word_count(word: u64) -> u64 {
    word & COUNT_MASK
}

fn pack(tag: u64, count: u64) -> u64 {
    (tag << COUNT_BITS) | count.min(COUNT_MASK)
}

/// Returns whether the lap tag `theirs` is newer than `ours`, modulo 2^24.
fn tag_is_newer(theirs: u64, ours: u64) -> bool {
    let distance = theirs.wrapping_sub(ours) & TAG_MASK;
    distance != 0 && distance < (1 << (TAG_BITS - 1))
}

/// Adds `count` to `word` for lap tag `tag` with a compare-and-swap loop,
/// following the three cases in the module docs. Returns `false` when the
/// word counts for a newer lap.
fn add_to_word(word: &AtomicU64, tag: u64, count: u64) -> bool {
    let mut current = word.load(Relaxed);
    loop {
        let current_tag = word_tag(current);
        let current_count = word_count(current);
        let next = if current_tag == tag {
            if current_count == COUNT_MASK {
                return true;
            }
            pack(tag, current_count.saturating_add(count))
        } else if current_count == 0 || tag_is_newer(tag, current_tag) {
            pack(tag, count)
        } else {
            return false;
        };
        match word.compare_exchange_weak(current, next, Relaxed, Relaxed) {
            Ok(_) => return true,
            Err(actual) => current = actual,
        }
    }
}

/// Adds one to `word` for lap tag `tag` with the same outcome as
/// `add_to_word(word, tag, 1)`, but with a single `fetch_add` when the word
/// already counts for `tag`, which is by far the most common case.
///
/// Otherwise the blind add has to be repaired (see the module docs).
#[inline]
fn increment_word(word: &AtomicU64, tag: u64) -> bool {
    let previous = word.fetch_add(1, Relaxed);
    if word_tag(previous) == tag && word_count(previous) < COUNT_MASK {
        return true;
    }
    repair_increment(word, tag, previous)
}

#[cold]
fn repair_increment(word: &AtomicU64, tag: u64, previous: u64) -> bool {
    let previous_tag = word_tag(previous);
    let previous_count = word_count(previous);
    let after_add = previous.wrapping_add(1);

    if previous_count > 0 && (previous_tag == tag || tag_is_newer(previous_tag, tag)) {
        // The one went into a newer lap's count, or carried out of a full
        // count into the tag. Take it back while the word still has the tag
        // that our add left. A different tag means that someone replaced the
        // whole word, and our one with it.
        let mut current = word.load(Relaxed);
        while word_tag(current) == word_tag(after_add) {
            match word.compare_exchange_weak(current, current.wrapping_sub(1), Relaxed, Relaxed) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        // A full count stays full and the event counts as recorded; an event
        // for an older lap than the word's is dropped.
        return previous_tag == tag;
    }

    // The word held an older lap or nothing, so the one went into stale
    // content that no reader uses. Replace that content with a count of one
    // for `tag`, unless another writer already replaced it.
    let mut current = word.load(Relaxed);
    loop {
        let current_tag = word_tag(current);
        let next = if current_tag == tag {
            if word_count(current) == COUNT_MASK {
                return true;
            }
            current + 1
        } else if current_tag == previous_tag
            || word_count(current) == 0
            || tag_is_newer(tag, current_tag)
        {
            pack(tag, 1)
        } else {
            return false;
        };
        match word.compare_exchange_weak(current, next, Relaxed, Relaxed) {
            Ok(_) => return true,
            Err(actual) => current = actual,
        }
    }
}

/// Error, slow-request and histogram counts summed over some periods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PeriodTotals {
    /// Latency histogram; its total is the number of events.
    pub histogram: LatencyHistogram,
    /// Events marked as server errors.
    pub errors: u64,
    /// Events slower than the latency threshold.
    pub slow: u64,
}

/// Ring of `SLOTS` slots of `SLOT_MS` milliseconds each.
pub(crate) struct Ring<const SLOT_MS: u64, const SLOTS: usize> {
    words: Box<[AtomicU64]>,
    late_events_dropped: AtomicU64,
}

impl<const SLOT_MS: u64, const SLOTS: usize> Ring<SLOT_MS, SLOTS> {
    pub fn new() -> Self {
        let words = (0..SLOTS * WORDS_PER_SLOT)
            .map(|_| AtomicU64::new(0))
            .collect();
        Self {
            words,
            late_events_dropped: AtomicU64::new(0),
        }
    }

    /// Returns the period that contains `unix_ms`.
    pub fn period_of(unix_ms: u64) -> u64 {
        unix_ms / SLOT_MS
    }

    fn slot(&self, period: u64) -> &[AtomicU64] {
        // The remainder is below SLOTS, which is a usize.
        let index = (period % SLOTS as u64) as usize;
        &self.words[index * WORDS_PER_SLOT..(index + 1) * WORDS_PER_SLOT]
    }

    fn lap_of(period: u64) -> u64 {
        period / SLOTS as u64
    }

    /// Counts one event at `unix_ms`. Returns `false` if the event was dropped
    /// because its slot already belongs to a later period.
    #[inline]
    pub fn record(&self, unix_ms: u64, bucket: usize, error: bool, slow: bool) -> bool {
        let period = Self::period_of(unix_ms);
        let lap = Self::lap_of(period);
        let slot = self.slot(period);

        let epoch = &slot[EPOCH_WORD];
        let slot_lap = epoch.load(Relaxed);
        if lap < slot_lap {
            self.late_events_dropped.fetch_add(1, Relaxed);
            return false;
        }
        if lap > slot_lap {
            epoch.fetch_max(lap, Relaxed);
        }

        let tag = tag_of(lap);
        if !increment_word(&slot[HISTOGRAM_WORD + bucket], tag) {
            self.late_events_dropped.fetch_add(1, Relaxed);
            return false;
        }
        if error {
            increment_word(&slot[ERRORS_WORD], tag);
        }
        if slow {
            increment_word(&slot[SLOW_WORD], tag);
        }
        true
    }

    /// Adds the counts of `period` to `totals`. A period whose slot belongs to
    /// another lap adds nothing.
    pub fn add_period_to(&self, period: u64, totals: &mut PeriodTotals) {
        let lap = Self::lap_of(period);
        let slot = self.slot(period);
        if slot[EPOCH_WORD].load(Relaxed) != lap {
            return;
        }
        let tag = tag_of(lap);
        let count_for_lap = |word: &AtomicU64| {
            let value = word.load(Relaxed);
            if word_tag(value) == tag {
                word_count(value)
            } else {
                0
            }
        };

        totals.errors = totals
            .errors
            .saturating_add(count_for_lap(&slot[ERRORS_WORD]));
        totals.slow = totals.slow.saturating_add(count_for_lap(&slot[SLOW_WORD]));
        let buckets = &slot[HISTOGRAM_WORD..];
        for (total, word) in totals.histogram.counts_mut().iter_mut().zip(buckets) {
            *total = total.saturating_add(count_for_lap(word));
        }
    }

    /// Adds the contents of `other` slot by slot, so that the result reads
    /// like one ring fed the events of both (see the module docs).
    pub fn merge_from(&self, other: &Self) {
        for index in 0..SLOTS {
            let range = index * WORDS_PER_SLOT..(index + 1) * WORDS_PER_SLOT;
            let ours = &self.words[range.clone()];
            let theirs = &other.words[range];

            let their_lap = theirs[EPOCH_WORD].load(Relaxed);
            let our_lap = ours[EPOCH_WORD].fetch_max(their_lap, Relaxed);
            if their_lap < our_lap {
                // One ring fed both streams would have dropped or overwritten
                // the older period, so it contributes nothing.
                continue;
            }

            let tag = tag_of(their_lap);
            for (our_word, their_word) in ours.iter().zip(theirs).skip(EPOCH_WORD + 1) {
                let value = their_word.load(Relaxed);
                if word_tag(value) == tag && word_count(value) > 0 {
                    add_to_word(our_word, tag, word_count(value));
                }
            }
        }
        let dropped = other.late_events_dropped.load(Relaxed);
        self.late_events_dropped.fetch_add(dropped, Relaxed);
    }

    /// Events dropped because their slot already held a later period.
    pub fn late_events_dropped(&self) -> u64 {
        self.late_events_dropped.load(Relaxed)
    }

    /// Bytes allocated on the heap for the slots.
    pub fn heap_bytes(&self) -> usize {
        self.words.len() * std::mem::size_of::<AtomicU64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    type TestRing = Ring<1_000, 4>;

    fn totals(ring: &TestRing, period: u64) -> PeriodTotals {
        let mut totals = PeriodTotals::default();
        ring.add_period_to(period, &mut totals);
        totals
    }

    #[test]
    fn word_resets_when_lap_advances() {
        let word = AtomicU64::new(0);
        assert!(add_to_word(&word, 3, 1));
        assert!(add_to_word(&word, 3, 1));
        assert_eq!(word.load(Relaxed), pack(3, 2));
        assert!(add_to_word(&word, 4, 1));
        assert_eq!(word.load(Relaxed), pack(4, 1));
    }

    #[test]
    fn word_rejects_older_lap() {
        let word = AtomicU64::new(pack(5, 7));
        assert!(!add_to_word(&word, 4, 1));
        assert_eq!(word.load(Relaxed), pack(5, 7));
    }

    #[test]
    fn increment_matches_compare_and_swap_rules() {
        let cases = [
            (0, 3, Some(pack(3, 1)), true),
            (pack(3, 4), 3, Some(pack(3, 5)), true),
            (pack(2, 4), 3, Some(pack(3, 1)), true),
            (pack(5, 4), 3, Some(pack(5, 4)), false),
            (pack(5, 0), 3, Some(pack(3, 1)), true),
            (pack(3, COUNT_MASK), 3, Some(pack(3, COUNT_MASK)), true),
            (pack(2, COUNT_MASK), 3, Some(pack(3, 1)), true),
            (pack(TAG_MASK, COUNT_MASK), TAG_MASK, None, true),
            (0, TAG_MASK, Some(pack(TAG_MASK, 1)), true),
        ];
        for (initial, tag, expected, recorded) in cases {
            let word = AtomicU64::new(initial);
            assert_eq!(
                increment_word(&word, tag),
                recorded,
                "{initial:#x} tag {tag}"
            );
            let expected = expected.unwrap_or(initial);
            assert_eq!(word.load(Relaxed), expected, "{initial:#x} tag {tag}");
        }
    }

    /// Two threads interleave increments for lap 7 and lap 8 on one word.
    /// Lap 8 is the newest, so every one of its increments must survive the
    /// blind adds and repairs of lap 7.
    #[test]
    fn racing_laps_keep_newest_count_exact() {
        const ROUNDS: u64 = 300_000;
        let word = Arc::new(AtomicU64::new(pack(6, 3)));
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2u64)
            .map(|thread_index| {
                let word = Arc::clone(&word);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut newest = 0u64;
                    for round in 0..ROUNDS {
                        let tag = if (round + thread_index) % 3 == 0 {
                            7
                        } else {
                            8
                        };
                        let recorded = increment_word(&word, tag);
                        if tag == 8 {
                            assert!(recorded);
                            newest += 1;
                        }
                    }
                    newest
                })
            })
            .collect();
        let newest: u64 = handles
            .into_iter()
            .map(|handle| handle.join().expect("thread panicked"))
            .sum();
        assert_eq!(word.load(Relaxed), pack(8, newest));
    }

    #[test]
    fn word_count_saturates() {
        let word = AtomicU64::new(pack(1, COUNT_MASK - 1));
        assert!(add_to_word(&word, 1, 5));
        assert_eq!(word_count(word.load(Relaxed)), COUNT_MASK);
        assert!(add_to_word(&word, 1, 1));
        assert_eq!(word_count(word.load(Relaxed)), COUNT_MASK);
    }

    #[test]
    fn tag_comparison_wraps() {
        assert!(tag_is_newer(0, TAG_MASK));
        assert!(!tag_is_newer(TAG_MASK, 0));
        assert!(!tag_is_newer(7, 7));
    }

    #[test]
    fn reused_slot_forgets_old_period() {
        let ring = TestRing::new();
        ring.record(500, 10, true, false);
        assert_eq!(totals(&ring, 0).histogram.count(), 1);

        // Period 4 maps to the same slot as period 0, one lap later.
        ring.record(4_500, 11, false, true);
        assert_eq!(totals(&ring, 0), PeriodTotals::default());
        let later = totals(&ring, 4);
        assert_eq!(later.histogram.counts()[11], 1);
        assert_eq!(later.histogram.count(), 1);
        assert_eq!(later.errors, 0);
        assert_eq!(later.slow, 1);
    }

    #[test]
    fn event_for_overwritten_period_is_dropped() {
        let ring = TestRing::new();
        ring.record(4_500, 11, false, false);
        assert!(!ring.record(500, 11, true, false));
        assert_eq!(ring.late_events_dropped(), 1);
        assert_eq!(totals(&ring, 4).histogram.count(), 1);
        assert_eq!(totals(&ring, 4).errors, 0);
    }

    #[test]
    fn older_period_still_in_ring_is_recorded() {
        let ring = TestRing::new();
        ring.record(3_500, 11, false, false);
        assert!(ring.record(1_500, 12, true, false));
        assert_eq!(totals(&ring, 1).errors, 1);
        assert_eq!(ring.late_events_dropped(), 0);
    }
}
