//! Answers of the analysis watcher: applied to the selection's analysis if they belong to the
//! current watch; a replaced watch's late answers are dropped.

use super::super::command::Command;
use super::super::event::AnalysisFeed;
use super::super::state::State;

pub fn apply(state: &mut State, watch: u64, feed: AnalysisFeed) -> Vec<Command> {
    let Some(analysis) = state.domain.analysis.as_mut().filter(|a| a.watch == watch) else {
        return Vec::new();
    };
    analysis.apply(feed);
    state.dirty = true;
    Vec::new()
}
