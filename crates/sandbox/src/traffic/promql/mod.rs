//! The PromQL subset the sandbox answers (see `parse` for what is supported), evaluated over
//! any [`Storage`] with Prometheus' semantics.

mod eval;
mod parse;
#[cfg(test)]
mod tests;

pub use eval::{
    LOOKBACK_MS, Labels, NAME, Sample, Series, Storage, Value, bucket_quantile, eval,
    extrapolated_rate,
};
pub use parse::{
    AggOp, BinOp, Expr, Func, Grouping, MatchOp, Matcher, Selector, parse, parse_duration,
};
