//! Terminal setup and restore. The terminal is restored whatever happens: on drop of the guard
//! (normal exit, `?` errors), from the panic hook (before the panic message prints), and on
//! SIGTERM/SIGHUP (the app loop stops and drops the guard).

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalGuard {
    pub terminal: Tui,
}

static PANIC_HOOK: Once = Once::new();

pub fn init() -> io::Result<TerminalGuard> {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore();
            previous(info);
        }));
    });
    enable_raw_mode()?;
    let mut out = stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        let _ = restore();
        return Err(e);
    }
    let mut terminal = Terminal::new(CrosstermBackend::new(out))?;
    terminal.hide_cursor()?;
    terminal.clear()?;
    // From now on an exec credential plugin must not prompt (it would draw over the console).
    crate::cluster::exec::console_holds_terminal(true);
    Ok(TerminalGuard { terminal })
}

/// Leaves the alternate screen, shows the cursor and ends raw mode. Idempotent.
pub fn restore() -> io::Result<()> {
    crate::cluster::exec::console_holds_terminal(false);
    let mut out = stdout();
    let screen = execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
    disable_raw_mode()?;
    screen
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
    }
}
