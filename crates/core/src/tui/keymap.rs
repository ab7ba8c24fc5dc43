//! Keys → actions: the registry's defaults with the config's `[keys]` overrides on top.
//! A key is written `k`, `G`, `?`, `enter`, `esc`, `tab`, `backtab`, `up`, `pgdown`, `f5`,
//! `space`, or with modifiers `ctrl-r`, `alt-x`; several keys for one action are separated by
//! spaces (`up = "k up"`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::actions::{Action, REGISTRY};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    /// Shift is part of a character (`G`, `?`), so it is dropped for characters; BackTab
    /// arrives with Shift on some terminals and without on others.
    pub fn from_event(event: &KeyEvent) -> Key {
        let mut modifiers = event.modifiers;
        if matches!(event.code, KeyCode::Char(_) | KeyCode::BackTab) {
            modifiers.remove(KeyModifiers::SHIFT);
        }
        Key {
            code: event.code,
            modifiers,
        }
    }

    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (prefix, modifier) = if lower.starts_with("ctrl-") {
                ("ctrl-", KeyModifiers::CONTROL)
            } else if lower.starts_with("alt-") {
                ("alt-", KeyModifiers::ALT)
            } else if lower.starts_with("shift-") && rest.len() > "shift-".len() {
                ("shift-", KeyModifiers::SHIFT)
            } else {
                break;
            };
            modifiers |= modifier;
            rest = &rest[prefix.len()..];
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if modifiers.contains(KeyModifiers::SHIFT) => {
                modifiers.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdown" | "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => {
                        if modifiers.contains(KeyModifiers::SHIFT) {
                            modifiers.remove(KeyModifiers::SHIFT);
                            KeyCode::Char(c.to_ascii_uppercase())
                        } else if modifiers.contains(KeyModifiers::CONTROL) {
                            KeyCode::Char(c.to_ascii_lowercase())
                        } else {
                            KeyCode::Char(c)
                        }
                    }
                    _ => {
                        return Err(format!(
                            "{text:?} is not a key (try `r`, `ctrl-r`, `f5`, `enter`, `pgdown`)"
                        ));
                    }
                }
            }
        };
        Ok(Key { code, modifiers })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("^")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("M-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("S-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: HashMap<Key, Action>,
    keys: HashMap<Action, Vec<Key>>,
}

impl Keymap {
    /// Defaults with `overrides` (action name → keys) applied: an overridden action loses its
    /// default keys, and a key taken by an override leaves whatever action had it.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
        let mut keys: HashMap<Action, Vec<Key>> = HashMap::new();
        for info in REGISTRY {
            let parsed = info
                .keys
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()?;
            keys.insert(info.action, parsed);
        }
        for (name, spec) in overrides {
            let action: Action = name.parse().map_err(|e| format!("[keys] {name}: {e}"))?;
            let new_keys = spec
                .split_whitespace()
                .map(Key::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("[keys] {name} = {spec:?}: {e}"))?;
            if new_keys.is_empty() {
                return Err(format!("[keys] {name} = {spec:?}: no key given"));
            }
            for bound in keys.values_mut() {
                bound.retain(|k| !new_keys.contains(k));
            }
            keys.insert(action, new_keys);
        }
        let mut bindings = HashMap::new();
        for info in REGISTRY {
            for key in &keys[&info.action] {
                bindings.insert(*key, info.action);
            }
        }
        Ok(Keymap { bindings, keys })
    }

    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.bindings.get(&Key::from_event(event)).copied()
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.keys.get(&action).map_or(&[], Vec::as_slice)
    }

    /// `j/↓` for help and footers; digits collapse to `1-9`.
    pub fn label(&self, action: Action) -> String {
        let keys = self.keys(action);
        if action == Action::FocusEnv && keys.len() == 9 {
            return "1-9".into();
        }
        keys.iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The first key, for the footer.
    pub fn short_label(&self, action: Action) -> String {
        if action == Action::FocusEnv {
            return self.label(action);
        }
        self.keys(action)
            .first()
            .map(Key::to_string)
            .unwrap_or_default()
    }
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(&BTreeMap::new()).unwrap_or_else(|_| Keymap {
            bindings: HashMap::new(),
            keys: HashMap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: ratatui::crossterm::event::KeyEventState::NONE,
        }
    }

    #[test]
    fn defaults_follow_the_registry() {
        let keymap = Keymap::default();
        assert_eq!(
            keymap.action(&press(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            keymap.action(&press(KeyCode::Char('R'), KeyModifiers::SHIFT)),
            Some(Action::RollbackLastKnownGood)
        );
        assert_eq!(
            keymap.action(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            keymap.action(&press(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
    }

    #[test]
    fn overrides_replace_defaults_and_steal_keys() {
        let overrides = BTreeMap::from([("rollback".to_string(), "ctrl-z u".to_string())]);
        let keymap = Keymap::new(&overrides).unwrap_or_default();
        assert_eq!(
            keymap.action(&press(KeyCode::Char('r'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            keymap.action(&press(KeyCode::Char('z'), KeyModifiers::CONTROL)),
            Some(Action::Rollback)
        );
        assert_eq!(keymap.label(Action::Rollback), "^Z/u");
        let overrides = BTreeMap::from([("deploy".to_string(), "j".to_string())]);
        let keymap = Keymap::new(&overrides).unwrap_or_default();
        assert_eq!(keymap.label(Action::Down), "↓");
        let bad = BTreeMap::from([("deploi".to_string(), "x".to_string())]);
        let err = Keymap::new(&bad).err().unwrap_or_default();
        assert!(err.starts_with("[keys] deploi: unknown action"), "{err}");
    }
}
