//! Evaluates parsed PromQL over a [`Storage`] at an instant, with Prometheus' semantics for
//! the parts it supports: a 5-minute lookback for instant selectors, left-open range windows,
//! `rate`/`increase` with Prometheus' extrapolation (`extrapolatedRate`), `histogram_quantile`
//! with linear interpolation inside the bucket (`bucketQuantile`), one-to-one vector matching
//! on identical label sets, and IEEE division (`0/0` is NaN, as in Prometheus).

use std::collections::BTreeMap;

use super::parse::{AggOp, BinOp, Expr, Func, Grouping, Selector};

/// Label name → value; the metric name is the `__name__` label.
pub type Labels = BTreeMap<String, String>;

pub const NAME: &str = "__name__";

/// How far back an instant selector looks for the latest sample (Prometheus' default).
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// `(unix milliseconds, value)`, oldest first.
    pub samples: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// Where series come from.
pub trait Storage {
    /// Series matching `sel`, each with its samples whose time is in `[from_ms, to_ms]`;
    /// series without such samples may be left out.
    fn select(&self, sel: &Selector, from_ms: i64, to_ms: i64) -> Vec<Series>;
}

impl Selector {
    /// Whether a series' labels (with `__name__`) satisfy the name and every matcher.
    pub fn matches(&self, labels: &Labels) -> bool {
        let get = |l: &str| labels.get(l).map(String::as_str).unwrap_or_default();
        self.name.as_deref().is_none_or(|n| get(NAME) == n)
            && self.matchers.iter().all(|m| m.matches(get(&m.label)))
    }
}

pub fn eval(expr: &Expr, st: &dyn Storage, t: i64) -> Result<Value, String> {
    match expr {
        Expr::Number(n) => Ok(Value::Scalar(*n)),
        Expr::Vector(sel) => {
            let mut out: Vec<Sample> = st
                .select(sel, t - LOOKBACK_MS + 1, t)
                .into_iter()
                .filter_map(|s| {
                    let last = s.samples.iter().rev().find(|(ts, _)| *ts <= t)?;
                    Some(Sample {
                        labels: s.labels,
                        value: last.1,
                    })
                })
                .collect();
            sort(&mut out);
            Ok(Value::Vector(out))
        }
        Expr::Range(sel, range) => {
            let from = t - range.as_millis() as i64 + 1;
            let mut series: Vec<Series> = st
                .select(sel, from, t)
                .into_iter()
                .map(|mut s| {
                    s.samples.retain(|(ts, _)| *ts >= from && *ts <= t);
                    s
                })
                .filter(|s| !s.samples.is_empty())
                .collect();
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            Ok(Value::Matrix(series))
        }
        Expr::Call(func, args) => call(*func, args, st, t),
        Expr::Aggregate { op, grouping, expr } => match eval(expr, st, t)? {
            Value::Vector(v) => Ok(Value::Vector(aggregate(*op, grouping, v))),
            other => Err(format!(
                "expected an instant vector in aggregation, got {}",
                other.type_name()
            )),
        },
        Expr::Binary { op, lhs, rhs } => {
            let l = eval(lhs, st, t)?;
            let r = eval(rhs, st, t)?;
            binary(*op, l, r)
        }
        Expr::Neg(e) => binary(BinOp::Sub, Value::Scalar(0.0), eval(e, st, t)?),
    }
}

fn sort(v: &mut [Sample]) {
    v.sort_by(|a, b| a.labels.cmp(&b.labels));
}

fn without_name(mut labels: Labels) -> Labels {
    labels.remove(NAME);
    labels
}

fn call(func: Func, args: &[Expr], st: &dyn Storage, t: i64) -> Result<Value, String> {
    match func {
        Func::Rate | Func::Increase => {
            let Some(Expr::Range(_, range)) = args.first() else {
                return Err("expected a range vector".into());
            };
            let Value::Matrix(series) = eval(&args[0], st, t)? else {
                return Err("expected a range vector".into());
            };
            let range_ms = range.as_millis() as i64;
            let mut out: Vec<Sample> = series
                .into_iter()
                .filter_map(|s| {
                    let value = extrapolated_rate(&s.samples, t - range_ms, t, func == Func::Rate)?;
                    Some(Sample {
                        labels: without_name(s.labels),
                        value,
                    })
                })
                .collect();
            sort(&mut out);
            Ok(Value::Vector(out))
        }
        Func::HistogramQuantile => {
            let q = match eval(&args[0], st, t)? {
                Value::Scalar(q) => q,
                other => {
                    return Err(format!(
                        "histogram_quantile: expected a scalar quantile, got {}",
                        other.type_name()
                    ));
                }
            };
            let Value::Vector(buckets) = eval(&args[1], st, t)? else {
                return Err("histogram_quantile: expected an instant vector".into());
            };
            Ok(Value::Vector(histogram_quantile(q, buckets)))
        }
        Func::Vector => match eval(&args[0], st, t)? {
            Value::Scalar(v) => Ok(Value::Vector(vec![Sample {
                labels: Labels::new(),
                value: v,
            }])),
            other => Err(format!(
                "vector(): expected a scalar, got {}",
                other.type_name()
            )),
        },
    }
}

/// Prometheus' `extrapolatedRate` for counters: the increase between the first and last
/// sample in the window (counter resets added back), extrapolated towards the window edges
/// when the samples come close enough to them; `None` with fewer than two samples.
pub fn extrapolated_rate(
    samples: &[(i64, f64)],
    start: i64,
    end: i64,
    is_rate: bool,
) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let (first_t, first_v) = samples[0];
    let (last_t, last_v) = samples[samples.len() - 1];
    let mut result = last_v - first_v;
    let mut previous = 0.0;
    for (_, v) in samples {
        if *v < previous {
            result += previous;
        }
        previous = *v;
    }
    let mut to_start = (first_t - start) as f64 / 1000.0;
    let to_end = (end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    if sampled <= 0.0 {
        return None;
    }
    let average_step = sampled / (samples.len() - 1) as f64;
    if result > 0.0 && first_v >= 0.0 {
        // A counter cannot have started below zero: do not extrapolate past that point.
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average_step * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        average_step / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        average_step / 2.0
    };
    let mut value = result * (interval / sampled);
    if is_rate {
        value /= (end - start) as f64 / 1000.0;
    }
    Some(value)
}

/// Groups classic-histogram buckets by their labels without `le` and computes the quantile of
/// each group, as Prometheus' `bucketQuantile` does.
fn histogram_quantile(q: f64, buckets: Vec<Sample>) -> Vec<Sample> {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for s in buckets {
        let mut labels = without_name(s.labels);
        // Series without a parsable `le` are not buckets and are ignored, like Prometheus.
        let Some(le) = labels.remove("le").and_then(|le| parse_le(&le)) else {
            continue;
        };
        groups.entry(labels).or_default().push((le, s.value));
    }
    groups
        .into_iter()
        .map(|(labels, b)| Sample {
            labels,
            value: bucket_quantile(q, b),
        })
        .collect()
}

fn parse_le(le: &str) -> Option<f64> {
    match le {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        other => other.parse().ok(),
    }
}

pub fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) || buckets.len() < 2 {
        return f64::NAN;
    }
    // Rates of separately scraped buckets can be slightly non-monotonic; Prometheus evens
    // them out the same way.
    let mut max = f64::NEG_INFINITY;
    for b in &mut buckets {
        max = max.max(b.1);
        b.1 = max;
    }
    let last = buckets.len() - 1;
    let observations = buckets[last].1;
    if observations == 0.0 || observations.is_nan() {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = buckets
        .iter()
        .position(|(_, count)| *count >= rank)
        .unwrap_or(last);
    if b == last {
        return buckets[last - 1].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let mut start = 0.0;
    let end = buckets[b].0;
    let mut count = buckets[b].1;
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

fn aggregate(op: AggOp, grouping: &Grouping, input: Vec<Sample>) -> Vec<Sample> {
    let mut groups: BTreeMap<Labels, Vec<f64>> = BTreeMap::new();
    for s in input {
        let key: Labels = match grouping {
            Grouping::All => Labels::new(),
            Grouping::By(keep) => s
                .labels
                .into_iter()
                .filter(|(k, _)| keep.contains(k))
                .collect(),
            Grouping::Without(drop) => s
                .labels
                .into_iter()
                .filter(|(k, _)| k != NAME && !drop.contains(k))
                .collect(),
        };
        groups.entry(key).or_default().push(s.value);
    }
    groups
        .into_iter()
        .map(|(labels, values)| {
            let n = values.len() as f64;
            let value = match op {
                AggOp::Sum => values.iter().sum(),
                AggOp::Avg => values.iter().sum::<f64>() / n,
                AggOp::Min => values.iter().copied().fold(f64::NAN, nan_min),
                AggOp::Max => values.iter().copied().fold(f64::NAN, nan_max),
                AggOp::Count => n,
            };
            Sample { labels, value }
        })
        .collect()
}

/// min/max that, like Prometheus, let any number win over NaN.
fn nan_min(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v < acc { v } else { acc }
}

fn nan_max(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v > acc { v } else { acc }
}

fn apply(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        // Never reached: `or` is a set operation, handled in `binary`.
        BinOp::Or => a,
    }
}

fn binary(op: BinOp, l: Value, r: Value) -> Result<Value, String> {
    if op == BinOp::Or {
        // Every left element, plus the right ones whose label set the left lacks.
        return match (l, r) {
            (Value::Vector(mut lv), Value::Vector(rv)) => {
                let left: std::collections::BTreeSet<Labels> =
                    lv.iter().map(|s| without_name(s.labels.clone())).collect();
                lv.extend(
                    rv.into_iter()
                        .filter(|s| !left.contains(&without_name(s.labels.clone()))),
                );
                Ok(Value::Vector(lv))
            }
            _ => Err("set operator \"or\" not allowed in binary scalar expression".into()),
        };
    }
    match (l, r) {
        (Value::Scalar(a), Value::Scalar(b)) => Ok(Value::Scalar(apply(op, a, b))),
        (Value::Vector(v), Value::Scalar(b)) => Ok(Value::Vector(
            v.into_iter()
                .map(|s| Sample {
                    labels: without_name(s.labels),
                    value: apply(op, s.value, b),
                })
                .collect(),
        )),
        (Value::Scalar(a), Value::Vector(v)) => Ok(Value::Vector(
            v.into_iter()
                .map(|s| Sample {
                    labels: without_name(s.labels),
                    value: apply(op, a, s.value),
                })
                .collect(),
        )),
        (Value::Vector(lv), Value::Vector(rv)) => {
            let mut right: BTreeMap<Labels, f64> = BTreeMap::new();
            for s in rv {
                if right
                    .insert(without_name(s.labels.clone()), s.value)
                    .is_some()
                {
                    return Err(duplicate("right", &s.labels));
                }
            }
            let mut seen = BTreeMap::new();
            let mut out = Vec::new();
            for s in lv {
                let key = without_name(s.labels);
                if seen.insert(key.clone(), ()).is_some() {
                    return Err(duplicate("left", &key));
                }
                if let Some(b) = right.get(&key) {
                    out.push(Sample {
                        value: apply(op, s.value, *b),
                        labels: key,
                    });
                }
            }
            Ok(Value::Vector(out))
        }
        _ => Err("binary expression must contain only scalar and instant vector types".into()),
    }
}

fn duplicate(side: &str, labels: &Labels) -> String {
    format!(
        "found duplicate series for the match group {labels:?} on the {side} hand-side of the operation; many-to-many matching not allowed"
    )
}
