//! How the simulated kubelet learns whether an image exists and how it behaves.
//!
//! A real kubelet pulls from a registry; the sandbox asks an [`ImageResolver`]. The embedded
//! OCI registry implements it (an image it lacks gives ErrImagePull; the config label
//! `shipdeck.sandbox/fault` marks an image that crash-loops or fails requests).

/// The label in an image's OCI config that marks simulated faults: `crash`, or
/// `errors=<fraction>` (runs, but the traffic simulator fails that share of requests).
pub const FAULT_LABEL: &str = "shipdeck.sandbox/fault";

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The container exits with code 1 shortly after starting: CrashLoopBackOff.
    Crash,
    /// The container runs and is ready, but this fraction of its requests fail.
    Errors(f64),
}

impl Fault {
    /// Parses a `shipdeck.sandbox/fault` label value.
    pub fn parse(value: &str) -> Option<Fault> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("crash") {
            return Some(Fault::Crash);
        }
        let fraction = value.strip_prefix("errors=")?.trim().parse::<f64>().ok()?;
        (0.0..=1.0)
            .contains(&fraction)
            .then_some(Fault::Errors(fraction))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImageVerdict {
    /// Pullable; with the fault its config declares, if any.
    Present { fault: Option<Fault> },
    /// Not pullable; `reason` is what the kubelet reports (e.g. `manifest unknown`).
    Missing { reason: String },
}

pub trait ImageResolver: Send + Sync {
    fn resolve(&self, image: &str) -> ImageVerdict;
}

/// Every image exists and is healthy (empty scenarios and controller unit tests).
pub struct AllImagesPresent;

impl ImageResolver for AllImagesPresent {
    fn resolve(&self, _image: &str) -> ImageVerdict {
        ImageVerdict::Present { fault: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fault_labels() {
        assert_eq!(Fault::parse("crash"), Some(Fault::Crash));
        assert_eq!(Fault::parse("errors=0.25"), Some(Fault::Errors(0.25)));
        assert_eq!(Fault::parse("errors=2"), None);
        assert_eq!(Fault::parse("slow"), None);
    }
}
