//! Full-frame render cost at scale: 200 services / ~5,000 pods / 2,000 tags, at 160×48 and
//! 300×100, into ratatui's TestBackend. Prints p50/p99 over many frames (the budget is p99 under
//! 2 ms), then runs divan's own report. Also times the update that follows one pod change (the
//! work done per batch of cluster events) and one clock tick (the only work when idle).
//! Wall-clock times: on a shared machine, the p99 mostly measures other processes; compare
//! with the load average printed first.

#[path = "../tests/ui_support/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shipdeck::tui::{AppEvent, State, update};

const SERVICES: usize = 200;
const PODS: usize = 5_000;
const TAGS: usize = 2_000;

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

fn measure(label: &str, rounds: usize, mut f: impl FnMut()) {
    for _ in 0..rounds / 10 {
        f();
    }
    let wall: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50, p99) = percentiles(wall);
    println!(
        "{label:<44} p50 {:>7.3} ms   p99 {:>7.3} ms",
        ms(p50),
        ms(p99)
    );
}

fn frame(state: &State, terminal: &mut Terminal<TestBackend>) {
    terminal
        .draw(|f| shipdeck::tui::view::render(f, state))
        .expect("draw");
}

fn main() {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
    for (width, height) in [(160u16, 48u16), (300, 100)] {
        let mut state = common::big_state(SERVICES, PODS, TAGS, width, height);
        let pods: usize = state
            .domain
            .snapshot
            .envs
            .iter()
            .map(|e| e.pods.len())
            .sum();
        let tags = state.derived.selected.as_ref().map_or(0, |s| s.tags.len());
        println!(
            "{width}x{height}: {} services, {pods} pods, {tags} tags",
            state.derived.rows.len()
        );
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        measure(
            &format!("render full frame {width}x{height}"),
            2_000,
            || frame(&state, &mut terminal),
        );
        // Move the selection so each frame differs (worst case for the diff).
        let mut down = true;
        measure(
            &format!("key + render (selection moves) {width}x{height}"),
            1_000,
            || {
                let key = if down { 'j' } else { 'k' };
                down = !down;
                let event = ratatui::crossterm::event::KeyEvent::new(
                    ratatui::crossterm::event::KeyCode::Char(key),
                    ratatui::crossterm::event::KeyModifiers::NONE,
                );
                update(
                    &mut state,
                    AppEvent::Input(ratatui::crossterm::event::Event::Key(event)),
                );
                frame(&state, &mut terminal);
            },
        );
        let pod = state.domain.snapshot.envs[2]
            .pods
            .values()
            .next()
            .cloned()
            .expect("a pod");
        measure(
            &format!("one pod event → update (all rows) {width}x{height}"),
            200,
            || {
                update(
                    &mut state,
                    AppEvent::Cluster(shipdeck::cluster::ClusterEvent::Applied {
                        env: "prod".into(),
                        object: shipdeck::cluster::KubeObject::Pod(pod.clone()),
                    }),
                );
            },
        );
        let changed: std::collections::BTreeSet<String> = ["prod".to_string()].into();
        measure(
            &format!("  of which rows of one env {width}x{height}"),
            200,
            || {
                shipdeck::tui::state::derived::rebuild_rows(
                    &state.ctx.config,
                    &mut state.domain,
                    &mut state.derived,
                    Some(&changed),
                );
            },
        );
        measure(
            &format!("  of which the selection {width}x{height}"),
            200,
            || {
                std::hint::black_box(shipdeck::tui::state::derived::build_selected(
                    &state.ctx.config,
                    &state.domain,
                    &state.view,
                    &state.derived,
                ));
            },
        );
        let now = common::now();
        measure(
            &format!("idle clock tick → update + render {width}x{height}"),
            500,
            || {
                update(&mut state, AppEvent::Tick(now));
                frame(&state, &mut terminal);
            },
        );
    }
    divan::main();
}

#[divan::bench(args = [(160, 48), (300, 100)], sample_count = 200)]
fn render_frame(bencher: divan::Bencher, (width, height): (u16, u16)) {
    let state = common::big_state(SERVICES, PODS, TAGS, width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    bencher.bench_local(|| frame(&state, &mut terminal));
}
