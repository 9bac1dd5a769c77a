//! Counters served at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use uuid::Uuid;

/// What the server has done since it started.
#[derive(Debug, Default)]
pub struct Metrics {
    received: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    duplicates: AtomicU64,
    refused_requests: AtomicU64,
    bytes: AtomicU64,
    audit_conflicts: AtomicU64,
    last_seen: Mutex<BTreeMap<Uuid, i64>>,
}

impl Metrics {
    /// A packet was judged for the first time.
    pub fn judged(&self, accepted: bool) {
        self.received.fetch_add(1, Ordering::Relaxed);
        if accepted {
            self.accepted.fetch_add(1, Ordering::Relaxed);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A packet the server had judged already arrived again.
    pub fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was refused (any 4xx).
    pub fn refused(&self) {
        self.refused_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Packet bytes arrived in a chunk.
    pub fn bytes(&self, count: usize) {
        self.bytes.fetch_add(count as u64, Ordering::Relaxed);
    }

    /// A station's claim about its audit log conflicted with what it reported before.
    pub fn audit_conflict(&self) {
        self.audit_conflicts.fetch_add(1, Ordering::Relaxed);
    }

    /// A station made an authenticated request at `unix` seconds.
    pub fn seen(&self, station: Uuid, unix: i64) {
        self.last_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(station, unix);
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            (
                "enrollment_packets_received_total",
                "Packets judged for the first time.",
                &self.received,
            ),
            (
                "enrollment_packets_accepted_total",
                "Packets accepted.",
                &self.accepted,
            ),
            (
                "enrollment_packets_rejected_total",
                "Packets rejected for their content.",
                &self.rejected,
            ),
            (
                "enrollment_packets_duplicate_total",
                "Packets that arrived again after their verdict.",
                &self.duplicates,
            ),
            (
                "enrollment_requests_refused_total",
                "Requests answered with a 4xx error.",
                &self.refused_requests,
            ),
            (
                "enrollment_packet_bytes_received_total",
                "Packet bytes received in upload chunks.",
                &self.bytes,
            ),
            (
                "enrollment_audit_conflicts_total",
                "Station audit heads shorter than, or forked from, what the station reported before.",
                &self.audit_conflicts,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let name = "enrollment_station_last_seen_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Unix time of the station's last authenticated request.\n# TYPE {name} gauge"
        );
        for (station, unix) in self
            .last_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "{name}{{station=\"{station}\"}} {unix}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_verdicts_and_names_each_station() {
        let metrics = Metrics::default();
        metrics.judged(true);
        metrics.judged(true);
        metrics.judged(false);
        metrics.bytes(1000);
        metrics.seen(Uuid::nil(), 1_700_000_000);
        let text = metrics.render();
        assert!(text.contains("enrollment_packets_received_total 3\n"));
        assert!(text.contains("enrollment_packets_accepted_total 2\n"));
        assert!(text.contains("enrollment_packets_rejected_total 1\n"));
        assert!(text.contains("enrollment_packet_bytes_received_total 1000\n"));
        assert!(text.contains(
            "enrollment_station_last_seen_seconds{station=\"00000000-0000-0000-0000-000000000000\"} 1700000000\n"
        ));
    }
}
