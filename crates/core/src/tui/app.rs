//! The one loop: terminal input, producer events, the clock, the registry refresh timer and
//! signals, in one `select!`. Events are drained in batches, derived rows refreshed once, and a
//! frame drawn only when something visible changed, at most `max_fps` times a second.

use std::time::Duration;

use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use futures::StreamExt;
use jiff::Timestamp;
use ratatui::crossterm::event::EventStream;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::command::Command;
use super::event::AppEvent;
use super::state::State;
use super::terminal::Tui;
use super::update::apply;
use super::view::render;

/// Upper bound on events handled between two frames, so a flood cannot starve drawing.
const MAX_BATCH: usize = 4096;

pub async fn run_loop(
    state: &mut State,
    terminal: &mut Tui,
    mut events: mpsc::Receiver<AppEvent>,
    commands: mpsc::UnboundedSender<Command>,
    clock: impl Fn() -> Timestamp,
) -> Result<()> {
    let fps = state.ctx.config.console.max_fps.clamp(1, 240);
    let frame_interval = Duration::from_secs_f64(1.0 / f64::from(fps));
    let mut input = EventStream::new();
    let mut clock_tick = tokio::time::interval(Duration::from_secs(1));
    clock_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let refresh_every = state
        .ctx
        .config
        .console
        .registry_refresh
        .max(Duration::from_secs(1));
    let mut registry_tick = tokio::time::interval_at(Instant::now() + refresh_every, refresh_every);
    registry_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut sigterm = signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
    let mut sighup = signal(SignalKind::hangup()).wrap_err("installing the SIGHUP handler")?;
    let mut events_open = true;
    let mut next_frame = Instant::now();
    let mut frames: u64 = 0;
    let size = terminal.size()?;
    state.view.size = (size.width, size.height);

    loop {
        send(&commands, state.refresh());
        if state.dirty && Instant::now() >= next_frame {
            terminal
                .draw(|frame| render(frame, state))
                .wrap_err("drawing the console")?;
            state.dirty = false;
            next_frame = Instant::now() + frame_interval;
            frames += 1;
            // Counting frames in the log (SHIPDECK_LOG=shipdeck_core::tui=debug) shows whether an
            // idle console redraws: it should not without something visible changing.
            tracing::debug!(frames, "frame drawn");
        }
        let produced = tokio::select! {
            biased;
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
            input_event = input.next() => match input_event {
                Some(Ok(event)) => apply(state, AppEvent::Input(event)),
                Some(Err(e)) => return Err(e).wrap_err("reading terminal input"),
                None => break,
            },
            event = events.recv(), if events_open => match event {
                Some(event) => {
                    let mut produced = apply(state, event);
                    for _ in 0..MAX_BATCH {
                        match events.try_recv() {
                            Ok(event) => produced.extend(apply(state, event)),
                            Err(_) => break,
                        }
                    }
                    produced
                }
                None => {
                    events_open = false;
                    Vec::new()
                }
            },
            _ = clock_tick.tick() => apply(state, AppEvent::Tick(clock())),
            _ = registry_tick.tick() => apply(state, AppEvent::RefreshTags),
            _ = tokio::time::sleep_until(next_frame), if state.dirty => Vec::new(),
        };
        send(&commands, produced);
        if state.quit {
            break;
        }
    }
    Ok(())
}

fn send(commands: &mpsc::UnboundedSender<Command>, produced: Vec<Command>) {
    for command in produced {
        // The runner going away is not the console's problem to report: it only loses work.
        let _ = commands.send(command);
    }
}
