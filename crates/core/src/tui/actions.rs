//! The one action registry. Each action's name (used by `[keys]` in the config and by the
//! command palette), default keys, description, the panes it applies to and whether it writes
//! live here; the help overlay, the footer and the palette are all generated from [`REGISTRY`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    DrillIn,
    Back,
    Filter,
    Palette,
    Help,
    FocusEnv,
    PrevEnv,
    NextEnv,
    Logs,
    Events,
    ActionsLog,
    CopyImage,
    RefreshTags,
    Quit,
    Deploy,
    Rollback,
    RollbackLastKnownGood,
    Canary,
    CanaryStepUp,
    CanaryStepDown,
    CanarySet,
    CanaryPromote,
    CanaryAbort,
    Swap,
    Promote,
    Build,
}

/// The panes of the screen (the bottom panel counts as one when it has the focus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Services,
    Tags,
    Revisions,
    Rollout,
    Pods,
    Bottom,
}

impl Pane {
    /// Tab order.
    pub const CYCLE: [Pane; 5] = [
        Pane::Services,
        Pane::Tags,
        Pane::Revisions,
        Pane::Rollout,
        Pane::Pods,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Services => "Services",
            Pane::Tags => "Tags",
            Pane::Revisions => "Revisions",
            Pane::Rollout => "Rollout",
            Pane::Pods => "Pods",
            Pane::Bottom => "Panel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Navigate,
    View,
    Release,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Navigate => "Navigate",
            Group::View => "View",
            Group::Release => "Release (writes)",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ActionInfo {
    pub action: Action,
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub description: &'static str,
    /// Empty: everywhere.
    pub panes: &'static [Pane],
    pub writes: bool,
    pub group: Group,
    /// Shown in the footer of the panes it applies to (navigation keys would crowd it).
    pub in_footer: bool,
}

const LISTS: &[Pane] = &[
    Pane::Services,
    Pane::Tags,
    Pane::Revisions,
    Pane::Pods,
    Pane::Bottom,
];
const FILTERABLE: &[Pane] = &[Pane::Services, Pane::Tags, Pane::Revisions, Pane::Pods];

macro_rules! info {
    ($action:ident, $name:literal, [$($key:literal),*], $desc:literal, $panes:expr, $writes:literal, $group:ident, $footer:literal) => {
        ActionInfo {
            action: Action::$action,
            name: $name,
            keys: &[$($key),*],
            description: $desc,
            panes: $panes,
            writes: $writes,
            group: Group::$group,
            in_footer: $footer,
        }
    };
}

pub const REGISTRY: &[ActionInfo] = &[
    info!(
        Up,
        "up",
        ["up", "k"],
        "Move up",
        LISTS,
        false,
        Navigate,
        false
    ),
    info!(
        Down,
        "down",
        ["down", "j"],
        "Move down",
        LISTS,
        false,
        Navigate,
        false
    ),
    info!(
        PageUp,
        "page_up",
        ["pgup", "ctrl-b"],
        "Page up",
        LISTS,
        false,
        Navigate,
        false
    ),
    info!(
        PageDown,
        "page_down",
        ["pgdown", "ctrl-f"],
        "Page down",
        LISTS,
        false,
        Navigate,
        false
    ),
    info!(
        Top,
        "top",
        ["g", "home"],
        "First row",
        LISTS,
        false,
        Navigate,
        false
    ),
    info!(
        Bottom,
        "bottom",
        ["G", "end"],
        "Last row",
        LISTS,
        false,
        Navigate,
        false
    ),
    info!(
        NextPane,
        "next_pane",
        ["tab", "right"],
        "Next pane",
        &[],
        false,
        Navigate,
        false
    ),
    info!(
        PrevPane,
        "prev_pane",
        ["backtab", "left"],
        "Previous pane",
        &[],
        false,
        Navigate,
        false
    ),
    info!(
        DrillIn,
        "drill_in",
        ["enter"],
        "Drill in: tags → details, revision → its pods, pod → logs",
        &[],
        false,
        Navigate,
        true
    ),
    info!(
        Back,
        "back",
        ["esc"],
        "Back: close, clear filter, leave a revision",
        &[],
        false,
        Navigate,
        false
    ),
    info!(
        Filter,
        "filter",
        ["/"],
        "Filter the focused list",
        FILTERABLE,
        false,
        Navigate,
        true
    ),
    info!(
        Palette,
        "palette",
        [":"],
        "Command palette: every action by name",
        &[],
        false,
        Navigate,
        true
    ),
    info!(
        Help,
        "help",
        ["?"],
        "Help: every key",
        &[],
        false,
        Navigate,
        true
    ),
    info!(
        FocusEnv,
        "focus_env",
        ["1", "2", "3", "4", "5", "6", "7", "8", "9"],
        "Focus environment N",
        &[],
        false,
        Navigate,
        false
    ),
    info!(
        PrevEnv,
        "prev_env",
        ["["],
        "Focus the previous environment",
        &[],
        false,
        Navigate,
        false
    ),
    info!(
        NextEnv,
        "next_env",
        ["]"],
        "Focus the next environment",
        &[],
        false,
        Navigate,
        true
    ),
    info!(
        Logs,
        "logs",
        ["l"],
        "Logs of the selected pod (bottom panel)",
        &[],
        false,
        View,
        true
    ),
    info!(
        Events,
        "events",
        ["v"],
        "Events of the selection (bottom panel)",
        &[],
        false,
        View,
        true
    ),
    info!(
        ActionsLog,
        "actions_log",
        ["a"],
        "Actions log: every write sent (bottom panel)",
        &[],
        false,
        View,
        true
    ),
    info!(
        CopyImage,
        "copy_image",
        ["y"],
        "Copy the image reference",
        &[Pane::Services, Pane::Tags, Pane::Revisions, Pane::Pods],
        false,
        View,
        true
    ),
    info!(
        RefreshTags,
        "refresh_tags",
        ["ctrl-r"],
        "Refresh registry tags now",
        &[],
        false,
        View,
        false
    ),
    info!(
        Quit,
        "quit",
        ["q", "ctrl-c"],
        "Quit (asks while a write is in flight)",
        &[],
        false,
        View,
        true
    ),
    info!(
        Deploy,
        "deploy",
        ["d"],
        "Deploy the selected tag to the focused environment",
        &[Pane::Services, Pane::Tags],
        true,
        Release,
        true
    ),
    info!(
        Rollback,
        "rollback",
        ["r"],
        "Roll back to the selected revision, else the previous one",
        &[Pane::Services, Pane::Revisions, Pane::Rollout],
        true,
        Release,
        true
    ),
    info!(
        RollbackLastKnownGood,
        "rollback_last_known_good",
        ["R"],
        "Roll back to the last known good revision",
        &[Pane::Services, Pane::Revisions, Pane::Rollout],
        true,
        Release,
        true
    ),
    info!(
        Canary,
        "canary",
        ["c"],
        "Canary actions (step, set, promote, abort)",
        &[Pane::Services, Pane::Rollout],
        true,
        Release,
        true
    ),
    info!(
        CanaryStepUp,
        "canary_step_up",
        ["+"],
        "Canary: next weight step",
        &[Pane::Services, Pane::Rollout],
        true,
        Release,
        false
    ),
    info!(
        CanaryStepDown,
        "canary_step_down",
        ["-"],
        "Canary: previous weight step",
        &[Pane::Services, Pane::Rollout],
        true,
        Release,
        false
    ),
    info!(
        CanarySet,
        "canary_set",
        ["="],
        "Canary: set the weight in %",
        &[Pane::Services, Pane::Rollout],
        true,
        Release,
        false
    ),
    info!(
        CanaryPromote,
        "canary_promote",
        ["P"],
        "Canary: promote to stable",
        &[Pane::Services, Pane::Rollout],
        true,
        Release,
        false
    ),
    info!(
        CanaryAbort,
        "canary_abort",
        ["A"],
        "Canary: abort (all traffic to stable)",
        &[Pane::Services, Pane::Rollout],
        true,
        Release,
        false
    ),
    info!(
        Swap,
        "swap",
        ["s"],
        "Blue-green: swap the active colour (and back)",
        &[Pane::Services, Pane::Rollout],
        true,
        Release,
        true
    ),
    info!(
        Promote,
        "promote",
        ["p"],
        "Promote the selected tag to the next environment",
        &[Pane::Services, Pane::Tags],
        true,
        Release,
        true
    ),
    info!(
        Build,
        "build",
        ["b"],
        "Build the selected service",
        &[Pane::Services, Pane::Tags],
        true,
        Release,
        true
    ),
];

impl Action {
    pub fn info(self) -> &'static ActionInfo {
        REGISTRY
            .iter()
            .find(|i| i.action == self)
            .unwrap_or(&REGISTRY[0])
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn writes(self) -> bool {
        self.info().writes
    }

    pub fn applies_to(self, pane: Pane) -> bool {
        let panes = self.info().panes;
        panes.is_empty() || panes.contains(&pane)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        REGISTRY
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.action)
            .ok_or_else(|| {
                let names: Vec<_> = REGISTRY.iter().map(|i| i.name).collect();
                format!("unknown action {name:?}; actions are: {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_display_and_from_str() {
        for info in REGISTRY {
            assert_eq!(info.action.to_string(), info.name);
            assert_eq!(info.name.parse::<Action>(), Ok(info.action));
            let json = serde_json::to_string(&info.action).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", info.name));
        }
        assert!("frobnicate".parse::<Action>().is_err());
    }

    #[test]
    fn every_action_is_registered_once() {
        let mut seen = std::collections::HashSet::new();
        for info in REGISTRY {
            assert!(seen.insert(info.action), "{} twice", info.name);
        }
        assert_eq!(seen.len(), REGISTRY.len());
    }
}
