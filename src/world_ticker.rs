//! The sandbox world's clock as the product's analysis [`Ticker`]: shared by `shipdeck demo`
//! and the screenshot tool, which both run the console on the world.

use jiff::Timestamp;

use crate::metrics::runner::Ticker;
use crate::sandbox::clock::Clock;

/// The sandbox world's clock for release analysis: the world may run faster than real time,
/// and its metrics run on the same clock, so queries name the instant of their check.
pub struct WorldTicker(pub Clock);

impl Ticker for WorldTicker {
    fn now(&self) -> Timestamp {
        self.0.now()
    }

    fn sleep_until(
        &self,
        t: Timestamp,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.sleep_until(t))
    }

    fn pins_query_time(&self) -> bool {
        true
    }
}
