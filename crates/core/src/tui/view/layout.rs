//! Where each pane goes at a given terminal size. One pure function, used by rendering and by
//! `update` (mouse hit-testing, page sizes), so both always agree.

use ratatui::layout::{Constraint, Layout, Rect};

use super::super::actions::Pane;
use super::super::state::view::ViewState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// ≥120 columns: three columns over a rollout/pods row.
    Wide,
    /// ≥80 columns: Services beside Tags or Revisions (a tab), over rollout/pods.
    Medium,
    /// One pane at a time under a tab bar.
    Narrow,
}

#[derive(Debug, Clone, Default)]
pub struct ScreenLayout {
    pub header: Rect,
    pub banner: Option<Rect>,
    pub tabs: Option<Rect>,
    pub panes: Vec<(Pane, Rect)>,
    pub bottom: Option<Rect>,
    pub footer: Rect,
}

impl ScreenLayout {
    pub fn pane(&self, pane: Pane) -> Option<Rect> {
        if pane == Pane::Bottom {
            return self.bottom;
        }
        self.panes.iter().find(|(p, _)| *p == pane).map(|(_, r)| *r)
    }

    pub fn pane_at(&self, column: u16, row: u16) -> Option<(Pane, Rect)> {
        let hit = |r: &Rect| column >= r.x && column < r.right() && row >= r.y && row < r.bottom();
        if let Some(bottom) = self.bottom.filter(hit) {
            return Some((Pane::Bottom, bottom));
        }
        self.panes.iter().copied().find(|(_, r)| hit(r))
    }
}

pub fn mode(width: u16, height: u16) -> Mode {
    if width >= 120 && height >= 20 {
        Mode::Wide
    } else if width >= 80 && height >= 16 {
        Mode::Medium
    } else {
        Mode::Narrow
    }
}

/// Rows of a list pane that show data: minus two borders and the column header.
pub fn list_height(rect: Rect) -> usize {
    rect.height.saturating_sub(3) as usize
}

pub fn layout(area: Rect, view: &ViewState, protected_banner: bool) -> ScreenLayout {
    let mut rest = area;
    let take_top = |rest: &mut Rect, rows: u16| {
        let rows = rows.min(rest.height);
        let taken = Rect {
            height: rows,
            ..*rest
        };
        rest.y += rows;
        rest.height -= rows;
        taken
    };
    let header = take_top(&mut rest, 1);
    let banner = (protected_banner && area.height >= 12).then(|| take_top(&mut rest, 1));
    let footer = if rest.height >= 2 {
        let footer = Rect {
            y: rest.bottom() - 1,
            height: 1,
            ..rest
        };
        rest.height -= 1;
        footer
    } else {
        Rect { height: 0, ..rest }
    };
    let mode = mode(area.width, area.height);
    let bottom = match view.bottom {
        Some(_) if rest.height >= 14 => {
            let rows = (rest.height * 3 / 10).max(5);
            let bottom = Rect {
                y: rest.bottom() - rows,
                height: rows,
                ..rest
            };
            rest.height -= rows;
            Some(bottom)
        }
        _ => None,
    };

    let mut panes = Vec::new();
    let mut tabs = None;
    match mode {
        Mode::Wide | Mode::Medium => {
            let [top, lower] =
                Layout::vertical([Constraint::Percentage(58), Constraint::Fill(1)]).areas(rest);
            let [rollout, pods] =
                Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(lower);
            if mode == Mode::Wide {
                let [services, tags, revisions] = Layout::horizontal([
                    Constraint::Percentage(40),
                    Constraint::Percentage(27),
                    Constraint::Fill(1),
                ])
                .areas(top);
                panes.extend([
                    (Pane::Services, services),
                    (Pane::Tags, tags),
                    (Pane::Revisions, revisions),
                ]);
            } else {
                let [services, side] =
                    Layout::horizontal([Constraint::Percentage(48), Constraint::Fill(1)])
                        .areas(top);
                let side_pane = match view.focus {
                    Pane::Tags | Pane::Revisions => view.focus,
                    _ => view.side_tab,
                };
                panes.extend([(Pane::Services, services), (side_pane, side)]);
            }
            panes.extend([(Pane::Rollout, rollout), (Pane::Pods, pods)]);
        }
        Mode::Narrow => {
            if rest.height >= 3 {
                tabs = Some(take_top(&mut rest, 1));
            }
            let pane = if view.focus == Pane::Bottom && bottom.is_none() {
                Pane::Services
            } else {
                view.focus
            };
            if pane != Pane::Bottom {
                panes.push((pane, rest));
            }
        }
    }
    ScreenLayout {
        header,
        banner,
        tabs,
        panes,
        bottom,
        footer,
    }
}
