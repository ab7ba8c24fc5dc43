//! The one owner of state: [`State`] = context (config, keys, theme) + domain + view +
//! derived rows. `update` changes it; views only read it.

pub mod analysis;
pub mod derived;
pub mod domain;
pub mod view;

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::config::Config;
use crate::model::snapshot::ClusterSnapshot;
use crate::theme::Theme;

use super::actions::{Action, Pane};
use super::command::Command;
use super::keymap::Keymap;
use crate::cluster::access::{Access, refusal};
use crate::release::permissions::{ActionKind, needed};
use derived::{Derived, build_selected, filter_services, rebuild_rows};
use domain::Domain;
use view::ViewState;

/// Things fixed for the session: what to show and how.
#[derive(Debug, Clone)]
pub struct Context {
    pub config: Config,
    pub keymap: Keymap,
    pub theme: Theme,
    /// `--read-only`: every write is refused, whatever the environment says.
    pub read_only: bool,
    /// Kube context shown in the header when there is no config naming environments.
    pub context_label: Option<String>,
    /// Environments whose kubeconfig says `insecure-skip-tls-verify`.
    pub insecure_envs: Vec<String>,
}

/// What needs recomputing before the next frame.
#[derive(Debug, Clone, Default)]
pub struct Stale {
    /// The snapshot or config changed: every service row.
    pub rows: bool,
    /// Environments whose objects changed since the last refresh (their columns only).
    pub envs: BTreeSet<String>,
    /// The services filter changed.
    pub filter: bool,
    /// Selection, focused env, tags or a pane filter changed: the selected service's panes.
    pub selection: bool,
}

#[derive(Debug)]
pub struct State {
    pub ctx: Context,
    pub domain: Domain,
    pub view: ViewState,
    pub derived: Derived,
    pub now: Timestamp,
    pub stale: Stale,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    pub quit: bool,
    next_request: u64,
}

impl State {
    pub fn new(ctx: Context, now: Timestamp) -> State {
        let snapshot = ClusterSnapshot::with_envs(ctx.config.envs.iter().map(|e| e.name.as_str()));
        State {
            ctx,
            domain: Domain {
                snapshot,
                ..Domain::default()
            },
            view: ViewState::default(),
            derived: Derived::default(),
            now,
            stale: Stale {
                rows: true,
                envs: BTreeSet::new(),
                filter: true,
                selection: true,
            },
            dirty: true,
            quit: false,
            next_request: 1,
        }
    }

    pub fn next_request_id(&mut self) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        id
    }

    pub fn env_names(&self) -> impl Iterator<Item = &str> {
        self.domain.snapshot.envs.iter().map(|e| e.name.as_str())
    }

    pub fn focused_env(&self) -> Option<&str> {
        self.domain
            .snapshot
            .envs
            .get(self.view.env)
            .map(|e| e.name.as_str())
    }

    pub fn env_protected(&self, env: &str) -> bool {
        self.ctx.config.env(env).is_some_and(|e| e.protected)
    }

    /// Why writes to `env` are refused, if they are.
    pub fn read_only_reason(&self, env: &str) -> Option<String> {
        if self.ctx.read_only {
            Some("shipdeck runs with --read-only".into())
        } else if self.ctx.config.env(env).is_some_and(|e| e.read_only) {
            Some(format!("environment {env} is read_only in shipdeck.toml"))
        } else {
            None
        }
    }

    /// Why `action` on the selected service in the focused environment is refused: read-only,
    /// or the API server's access review denied a permission it needs (naming verb,
    /// resource and namespace). `None` for actions that do not write, or when allowed or not
    /// known (the write's own answer is final).
    pub fn write_refusal(&self, action: Action) -> Option<String> {
        if !action.info().writes {
            return None;
        }
        let env = self.focused_env()?;
        if let Some(reason) = self.read_only_reason(env) {
            return Some(reason);
        }
        let kind = match action {
            Action::Deploy => ActionKind::Deploy,
            Action::Rollback | Action::RollbackLastKnownGood => ActionKind::Rollback,
            Action::Canary
            | Action::CanaryStepUp
            | Action::CanaryStepDown
            | Action::CanarySet
            | Action::CanaryPromote
            | Action::CanaryAbort => ActionKind::Canary,
            Action::Swap => ActionKind::Swap,
            Action::Build => ActionKind::Build,
            _ => return None,
        };
        let spec = self.derived.selected_spec()?;
        let env_cfg = self.ctx.config.env(env)?;
        // A Job build runs in its build environment: that one's answers count.
        let build_env = spec
            .config
            .build
            .as_ref()
            .and_then(|b| b.env.as_deref())
            .and_then(|name| self.ctx.config.env(name))
            .or(self.ctx.config.envs.first());
        let answers_env = match kind {
            ActionKind::Build => build_env.map_or(env, |e| e.name.as_str()),
            _ => env,
        };
        let access = self.domain.access.get(answers_env)?;
        needed(kind, &spec.config, env_cfg, build_env)
            .iter()
            .find_map(|p| match access.answers.get(p) {
                Some(Access::Denied(reason)) => {
                    Some(refusal(p, &access.context, reason.as_deref()))
                }
                _ => None,
            })
    }

    /// Recomputes what is stale and returns the fetches the new selection needs.
    pub fn refresh(&mut self) -> Vec<Command> {
        let stale = std::mem::take(&mut self.stale);
        let envs_changed = !stale.envs.is_empty();
        if !(stale.rows || envs_changed || stale.filter || stale.selection) {
            return Vec::new();
        }
        // Only the selection's panes are stale (a registry refresh, tags or details arriving):
        // they are rebuilt, and a frame drawn only if they came out different. A periodic
        // tag refresh that finds the same tags costs no frame.
        let selection_only = !(stale.rows || envs_changed || stale.filter);
        let before = selection_only.then(|| self.derived.selected.take());
        if before.is_none() {
            self.dirty = true;
        }
        if stale.rows || envs_changed {
            let changed = (!stale.rows).then_some(&stale.envs);
            rebuild_rows(
                &self.ctx.config,
                &mut self.domain,
                &mut self.derived,
                changed,
            );
        }
        if stale.rows || envs_changed || stale.filter {
            filter_services(&self.view, &mut self.derived);
        }
        self.sync_service_selection();
        self.domain.sort_changed_repos();
        self.derived.selected =
            build_selected(&self.ctx.config, &self.domain, &self.view, &self.derived);
        if before.is_some_and(|before| before != self.derived.selected) {
            self.dirty = true;
        }
        self.clamp_lists();
        let mut commands = self.fetches_for_selection();
        commands.extend(self.analysis_for_selection());
        commands
    }

    /// Keeps the selected service by name when rows move; falls back to the same position.
    fn sync_service_selection(&mut self) {
        let rows = &self.derived.service_rows;
        let names = |i: usize| self.derived.rows[rows[i]].name.clone();
        if rows.is_empty() {
            self.view.selected_service = None;
            self.view.services = Default::default();
            return;
        }
        let by_name = self.view.selected_service.as_ref().and_then(|name| {
            rows.iter()
                .position(|&i| &self.derived.rows[i].name == name)
        });
        let index = by_name.unwrap_or(self.view.services.selected.min(rows.len() - 1));
        self.view.services.selected = index;
        self.view.selected_service = Some(names(index));
    }

    fn clamp_lists(&mut self) {
        let lens = self.list_lens();
        for (pane, len) in lens {
            if let Some(pos) = self.view.list_mut(pane) {
                pos.selected = pos.selected.min(len.saturating_sub(1));
                pos.offset = pos.offset.min(pos.selected);
            }
        }
    }

    pub fn list_lens(&self) -> [(Pane, usize); 4] {
        let sel = self.derived.selected.as_ref();
        [
            (Pane::Services, self.derived.service_rows.len()),
            (Pane::Tags, sel.map_or(0, |s| s.tag_rows.len())),
            (Pane::Revisions, sel.map_or(0, |s| s.revision_rows.len())),
            (Pane::Pods, sel.map_or(0, |s| s.pod_rows.len())),
        ]
    }

    pub fn list_len(&self, pane: Pane) -> usize {
        self.list_lens()
            .iter()
            .find(|(p, _)| *p == pane)
            .map_or(0, |(_, len)| *len)
    }

    /// Tag listings not yet asked for, and details of the tags around the selection.
    pub fn fetches_for_selection(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        let Some(selected) = &self.derived.selected else {
            return commands;
        };
        for repository in selected.repository.iter().chain(&selected.prod_repository) {
            let unknown = !self.domain.repos.contains_key(repository)
                || self.domain.stale_repos.remove(repository);
            if unknown && !self.domain.listing.contains(repository) {
                self.domain.listing.insert(repository.clone());
                commands.push(Command::FetchTags {
                    repository: repository.clone(),
                });
            }
        }
        if let Some(repository) = &selected.repository {
            // Details for the rows on screen (and a page beyond): thousands of tags must not
            // mean thousands of manifest requests.
            let start = self.view.tags.offset;
            let wanted = selected.tag_rows.iter().skip(start).take(DETAILS_WINDOW);
            for &row in wanted {
                let tag = &selected.tags[row];
                let key = (repository.clone(), tag.tag.clone());
                if self.domain.details_requested.insert(key) {
                    commands.push(Command::FetchTagDetails {
                        repository: repository.clone(),
                        tag: tag.tag.clone(),
                    });
                }
            }
            if let Some(prod) = &selected.prod_repository
                && let Some(prod_tags) = self.domain.repos.get(prod)
            {
                for &row in selected.tag_rows.iter().skip(start).take(DETAILS_WINDOW) {
                    let tag = &selected.tags[row].tag;
                    if prod_tags.tags.contains(tag) {
                        let key = (prod.clone(), tag.clone());
                        if self.domain.details_requested.insert(key) {
                            commands.push(Command::FetchTagDetails {
                                repository: prod.clone(),
                                tag: tag.clone(),
                            });
                        }
                    }
                }
            }
        }
        commands
    }
}

/// How many tags around the Tags pane's scroll position get their details fetched.
pub const DETAILS_WINDOW: usize = 60;
