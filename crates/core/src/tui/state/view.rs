//! View state: focus, selections, scroll, filters, overlays. UI-only; never sent anywhere.

use tui_input::Input;

use super::super::actions::{Action, Pane};
use super::super::event::ConfirmRequest;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListPos {
    pub selected: usize,
    pub offset: usize,
}

impl ListPos {
    /// Moves by `delta` within `len` rows and keeps the selection inside a window of `height`.
    pub fn step(&mut self, delta: isize, len: usize, height: usize) {
        let last = len.saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
        self.keep_visible(height);
    }

    pub fn keep_visible(&mut self, height: usize) {
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BottomMode {
    Logs,
    Events,
    Actions,
}

#[derive(Debug, Clone)]
pub enum Modal {
    Help {
        scroll: usize,
    },
    Palette {
        input: Input,
        selected: usize,
    },
    /// A plan from the release runner; `input` holds the typed confirmation.
    Confirm {
        request: ConfirmRequest,
        input: Input,
    },
    /// A value for an action: the canary weight, or the approval note of a promotion that
    /// the policy asks one for (`approval` holds that promotion until the note is typed).
    Prompt {
        action: Action,
        input: Input,
        error: Option<String>,
        approval: Option<Box<ApprovalPrompt>>,
    },
    QuitWhileWriting,
    TagDetails {
        repository: String,
        tag: String,
    },
}

/// A promotion waiting for its approval note, and why the policy wants one.
#[derive(Debug, Clone)]
pub struct ApprovalPrompt {
    pub request: crate::tui::command::ReleaseRequest,
    /// E.g. "v2.3.0 → v3.0.0 into prod is a major bump".
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

#[derive(Debug, Clone)]
pub struct ViewState {
    pub focus: Pane,
    /// Index of the focused environment (column order).
    pub env: usize,
    pub services: ListPos,
    pub tags: ListPos,
    pub revisions: ListPos,
    pub pods: ListPos,
    /// Lines scrolled up from the end of the bottom panel (0 = follow).
    pub bottom_scroll: usize,
    pub filters: Filters,
    /// The filter being typed, for `filters.editing` pane.
    pub filter_input: Option<Input>,
    pub modal: Option<Modal>,
    pub bottom: Option<BottomMode>,
    /// Terminal size, for layout-dependent input (mouse, page size).
    pub size: (u16, u16),
    /// In the two-column layout: which of Tags / Revisions the right column shows.
    pub side_tab: Pane,
    /// Pods of this ReplicaSet only (Enter on a revision), else of the whole service.
    pub revision_drill: Option<String>,
    pub notice: Option<Notice>,
    /// The service selected, by name, so that selection survives re-sorting and filtering.
    pub selected_service: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub services: String,
    pub tags: String,
    pub revisions: String,
    pub pods: String,
    pub editing: Option<Pane>,
}

impl Filters {
    pub fn get(&self, pane: Pane) -> &str {
        match pane {
            Pane::Services => &self.services,
            Pane::Tags => &self.tags,
            Pane::Revisions => &self.revisions,
            Pane::Pods => &self.pods,
            Pane::Rollout | Pane::Bottom => "",
        }
    }

    pub fn get_mut(&mut self, pane: Pane) -> Option<&mut String> {
        match pane {
            Pane::Services => Some(&mut self.services),
            Pane::Tags => Some(&mut self.tags),
            Pane::Revisions => Some(&mut self.revisions),
            Pane::Pods => Some(&mut self.pods),
            Pane::Rollout | Pane::Bottom => None,
        }
    }
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            focus: Pane::Services,
            env: 0,
            services: ListPos::default(),
            tags: ListPos::default(),
            revisions: ListPos::default(),
            pods: ListPos::default(),
            bottom_scroll: 0,
            filters: Filters::default(),
            filter_input: None,
            modal: None,
            bottom: None,
            size: (160, 48),
            side_tab: Pane::Tags,
            revision_drill: None,
            notice: None,
            selected_service: None,
        }
    }
}

impl ViewState {
    pub fn list(&self, pane: Pane) -> Option<&ListPos> {
        match pane {
            Pane::Services => Some(&self.services),
            Pane::Tags => Some(&self.tags),
            Pane::Revisions => Some(&self.revisions),
            Pane::Pods => Some(&self.pods),
            Pane::Rollout | Pane::Bottom => None,
        }
    }

    pub fn list_mut(&mut self, pane: Pane) -> Option<&mut ListPos> {
        match pane {
            Pane::Services => Some(&mut self.services),
            Pane::Tags => Some(&mut self.tags),
            Pane::Revisions => Some(&mut self.revisions),
            Pane::Pods => Some(&mut self.pods),
            Pane::Rollout | Pane::Bottom => None,
        }
    }
}
