//! The simulator's time series: per group of pods (same env, namespace, service, deployment,
//! version and track) running counters, and samples of them on a fixed time grid kept for a
//! bounded retention. Each group is seen as the series a Prometheus scrape of those pods
//! would give, summed over pods:
//!
//! - `http_requests_total{…,code="200"|"500"}` (counter)
//! - `http_request_duration_seconds_bucket{…,le}`, `_sum`, `_count` (histogram)
//!
//! A group has samples only while it has ready pods, so an old version's series go stale
//! when its pods are gone, as they would in Prometheus.

use std::collections::{BTreeMap, VecDeque};

use super::profile::{BUCKETS, Profile};
use super::promql::{Labels, NAME, Selector, Series, Storage};

pub const REQUESTS: &str = "http_requests_total";
pub const DURATION: &str = "http_request_duration_seconds";

const NB: usize = BUCKETS.len();

/// Cumulative counts of one group. `buckets[i]` counts requests of at most `BUCKETS[i]`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    pub requests: f64,
    pub errors: f64,
    pub buckets: [f64; NB],
    pub sum_seconds: f64,
}

impl Counters {
    /// Adds `requests` requests answered by a pod with `profile`.
    pub fn add(&mut self, requests: f64, profile: &Profile) {
        self.requests += requests;
        self.errors += requests * profile.error_ratio;
        for (count, le) in self.buckets.iter_mut().zip(BUCKETS) {
            *count += requests * profile.cdf(le);
        }
        self.sum_seconds += requests * profile.mean_seconds();
    }
}

/// One of the series a group exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Ok,
    Errors,
    Bucket(usize),
    BucketInf,
    Sum,
    Count,
}

impl Field {
    pub fn all() -> impl Iterator<Item = Field> {
        [Field::Ok, Field::Errors]
            .into_iter()
            .chain((0..NB).map(Field::Bucket))
            .chain([Field::BucketInf, Field::Sum, Field::Count])
    }

    pub fn value(self, c: &Counters) -> f64 {
        match self {
            Field::Ok => c.requests - c.errors,
            Field::Errors => c.errors,
            Field::Bucket(i) => c.buckets[i],
            Field::BucketInf | Field::Count => c.requests,
            Field::Sum => c.sum_seconds,
        }
    }

    /// The series' name and the labels it adds to its group's.
    pub fn name_and_label(self) -> (String, Option<(&'static str, String)>) {
        match self {
            Field::Ok => (REQUESTS.into(), Some(("code", "200".into()))),
            Field::Errors => (REQUESTS.into(), Some(("code", "500".into()))),
            Field::Bucket(i) => (
                format!("{DURATION}_bucket"),
                Some(("le", BUCKETS[i].to_string())),
            ),
            Field::BucketInf => (format!("{DURATION}_bucket"), Some(("le", "+Inf".into()))),
            Field::Sum => (format!("{DURATION}_sum"), None),
            Field::Count => (format!("{DURATION}_count"), None),
        }
    }

    pub fn labels(self, group: &Labels) -> Labels {
        let (name, extra) = self.name_and_label();
        let mut labels = group.clone();
        labels.insert(NAME.into(), name);
        if let Some((k, v)) = extra {
            labels.insert(k.into(), v);
        }
        labels
    }
}

#[derive(Debug, Default)]
pub struct Group {
    pub now: Counters,
    /// `(unix ms, counters)`, oldest first. Counts are expected values, not whole requests:
    /// Prometheus counters are floats, and rounding would make low-traffic quantiles jump
    /// between buckets for no reason but the simulation.
    pub samples: VecDeque<(i64, Counters)>,
}

#[derive(Debug)]
pub struct Tsdb {
    pub groups: BTreeMap<Labels, Group>,
    retention_ms: i64,
}

impl Tsdb {
    pub fn new(retention_ms: i64) -> Self {
        Tsdb {
            groups: BTreeMap::new(),
            retention_ms,
        }
    }

    pub fn group(&mut self, labels: &Labels) -> &mut Group {
        // Labels are cloned only for a new group: `entry` would clone them on every sample.
        if !self.groups.contains_key(labels) {
            self.groups.insert(labels.clone(), Group::default());
        }
        self.groups
            .get_mut(labels)
            .expect("the group was just looked up or inserted")
    }

    /// Records a sample at `t` for each present group, drops samples older than the
    /// retention, and forgets groups left without samples.
    pub fn record<'a>(&mut self, t: i64, present: impl IntoIterator<Item = &'a Labels>) {
        for labels in present {
            let group = self.group(labels);
            let now = group.now;
            group.samples.push_back((t, now));
        }
        let oldest = t - self.retention_ms;
        self.groups.retain(|_, g| {
            while g.samples.front().is_some_and(|(ts, _)| *ts < oldest) {
                g.samples.pop_front();
            }
            !g.samples.is_empty()
        });
    }
}

impl Storage for Tsdb {
    fn select(&self, sel: &Selector, from: i64, to: i64) -> Vec<Series> {
        let mut out = Vec::new();
        for (group_labels, group) in &self.groups {
            // Samples are sorted by time: find the window once per group.
            let start = group.samples.partition_point(|(t, _)| *t < from);
            let end = group.samples.partition_point(|(t, _)| *t <= to);
            if start >= end {
                continue;
            }
            for field in Field::all() {
                let labels = field.labels(group_labels);
                if !sel.matches(&labels) {
                    continue;
                }
                let samples = group
                    .samples
                    .range(start..end)
                    .map(|(t, c)| (*t, field.value(c)))
                    .collect();
                out.push(Series { labels, samples });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::promql::{Value, eval, parse};
    use super::*;

    fn group(track: &str) -> Labels {
        [("service", "orders"), ("track", track)]
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn counts_stay_consistent() {
        let mut c = Counters::default();
        c.add(
            10.0,
            &Profile::new(Some(&crate::images::Fault::Errors(0.25)), 100.0),
        );
        assert_eq!(c.errors, 2.5);
        assert!(c.buckets.iter().all(|b| *b <= c.requests));
        assert!(c.buckets.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(
            Field::Ok.value(&c) + Field::Errors.value(&c),
            Field::Count.value(&c)
        );
    }

    #[test]
    fn groups_answer_selectors_and_expire() {
        let mut db = Tsdb::new(60_000);
        let healthy = Profile::new(None, 100.0);
        let (stable, canary) = (group("stable"), group("canary"));
        for step in 1..=12 {
            db.group(&stable).now.add(100.0, &healthy);
            db.group(&canary).now.add(10.0, &healthy);
            let present = if step <= 6 {
                vec![&stable, &canary]
            } else {
                vec![&stable]
            };
            db.record(step * 5_000, present);
        }
        let q = parse(r#"sum by (track) (rate(http_requests_total{service="orders"}[30s]))"#)
            .expect("parses");
        let Value::Vector(v) = eval(&q, &db, 30_000).expect("evaluates") else {
            panic!("vector")
        };
        let rates: Vec<(String, f64)> = v
            .iter()
            .map(|s| (s.labels["track"].clone(), s.value))
            .collect();
        assert_eq!(rates.len(), 2);
        assert!(
            rates
                .iter()
                .any(|(t, r)| t == "stable" && (r - 20.0).abs() < 0.5),
            "{rates:?}"
        );
        assert!(
            rates
                .iter()
                .any(|(t, r)| t == "canary" && (r - 2.0).abs() < 0.5),
            "{rates:?}"
        );
        // The canary's pods went away at 30 s: a minute later its samples are gone, and with
        // them the group.
        let Value::Vector(v) = eval(&q, &db, 60_000).expect("evaluates") else {
            panic!("vector")
        };
        assert_eq!(v.len(), 1, "{v:?}");
        db.record(95_000, [&stable]);
        assert_eq!(db.groups.len(), 1);
    }
}
