//! How one pod answers: its error share and latency distribution, from its image's fault.
//!
//! Latency is log-normal (a good fit for service latencies); a healthy service's p99 is
//! 80–150 ms depending on the service, an image labelled `errors=<f>` fails that share of
//! requests and slows down in proportion (about a second at p99 for `errors=0.3`). Counters
//! are integrated from the distribution's CDF at the histogram's bucket bounds, so no
//! per-request randomness is needed.

use crate::images::Fault;

/// Upper bounds of the latency histogram's buckets, in seconds (`+Inf` is implicit).
pub const BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];

/// z-score of the 99th percentile of a normal distribution.
const Z99: f64 = 2.326_347_874;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// Share of requests answered with a 5xx.
    pub error_ratio: f64,
    /// Log-normal latency: `ln(median seconds)` and the log standard deviation.
    pub mu: f64,
    pub sigma: f64,
}

impl Profile {
    /// `healthy_p99_ms` is the service's own p99 when nothing is wrong.
    pub fn new(fault: Option<&Fault>, healthy_p99_ms: f64) -> Profile {
        let (error_ratio, p99_ms, sigma) = match fault {
            Some(Fault::Errors(f)) => (*f, healthy_p99_ms + f * 3_000.0, 0.6),
            // Crashing containers never become ready and get no traffic; should one be
            // asked anyway, it fails everything.
            Some(Fault::Crash) => (1.0, 5_000.0, 0.6),
            None => (0.001, healthy_p99_ms, 0.45),
        };
        let median = p99_ms / 1000.0 / (Z99 * sigma).exp();
        Profile {
            error_ratio,
            mu: median.ln(),
            sigma,
        }
    }

    /// Share of requests that take at most `seconds`.
    pub fn cdf(&self, seconds: f64) -> f64 {
        if seconds <= 0.0 {
            return 0.0;
        }
        0.5 * erfc(-(seconds.ln() - self.mu) / (self.sigma * std::f64::consts::SQRT_2))
    }

    pub fn mean_seconds(&self) -> f64 {
        (self.mu + self.sigma * self.sigma / 2.0).exp()
    }

    #[cfg(test)]
    fn quantile_seconds(&self, z: f64) -> f64 {
        (self.mu + z * self.sigma).exp()
    }
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// A service's healthy p99 in milliseconds, 80–150, stable per name.
pub fn healthy_p99_ms(service_seed: u64) -> f64 {
    80.0 + (service_seed % 71) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_and_faulty_profiles_hit_their_p99() {
        let healthy = Profile::new(None, 120.0);
        assert!((healthy.quantile_seconds(Z99) - 0.120).abs() < 1e-9);
        assert!(
            (healthy.cdf(0.120) - 0.99).abs() < 1e-4,
            "{}",
            healthy.cdf(0.12)
        );
        assert!(healthy.cdf(0.3) > 0.9999);
        let faulty = Profile::new(Some(&Fault::Errors(0.3)), 120.0);
        assert_eq!(faulty.error_ratio, 0.3);
        assert!(
            (faulty.cdf(1.02) - 0.99).abs() < 1e-3,
            "{}",
            faulty.cdf(1.02)
        );
        assert!(faulty.cdf(0.3) < 0.7 && healthy.cdf(0.3) > 0.999);
        assert!(healthy.mean_seconds() < 0.1 && faulty.mean_seconds() > 0.2);
    }

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122),
            (1.0, 0.157_299_207),
            (-1.0, 1.842_700_793),
            (3.0, 2.209_05e-5),
        ] {
            assert!((erfc(x) - want).abs() < 2e-7, "erfc({x}) = {}", erfc(x));
        }
    }
}
