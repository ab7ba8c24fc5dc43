//! Themes: semantic keys (`status.ok`, `pane.focused`…) over a `[palette]`, loaded from
//! `themes/*.toml` (built in) or a file, with the user's `[theme]` overrides on top, then
//! brought down to the terminal's colour depth. A key missing from a theme falls back to its
//! parent (`status.ok` → `status`), then to plain text.

mod color;
mod symbols;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

pub use color::{ColorDepth, parse_color, rgb_to_16, rgb_to_256};
pub use symbols::Symbols;

use crate::model::derive::Health;

/// Every key a theme may set; anything else in a theme file is a mistake worth reporting.
pub const KEYS: &[&str] = &[
    "text",
    "text.dim",
    "text.title",
    "status.ok",
    "status.progressing",
    "status.failing",
    "status.paused",
    "status.unknown",
    "canary",
    "marker.runs",
    "marker.prod",
    "marker.lkg",
    "env.normal",
    "env.protected",
    "env.focused",
    "banner.protected",
    "banner.readonly",
    "pane.border",
    "pane.focused",
    "pane.title",
    "header.bg",
    "footer.key",
    "footer.text",
    "footer.disabled",
    "selection",
    "selection.unfocused",
    "gauge.filled",
    "gauge.empty",
    "table.header",
    "modal.border",
    "warning",
    "error",
    "input",
];

/// Keys whose override colour is a background, not a foreground.
const BACKGROUND_KEYS: &[&str] = &[
    "header.bg",
    "selection",
    "selection.unfocused",
    "banner.protected",
];

pub const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../../../themes/dark.toml")),
    ("light", include_str!("../../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../../themes/high-contrast.toml"),
    ),
    (
        "colorblind",
        include_str!("../../../../themes/colorblind.toml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    palette: BTreeMap<String, String>,
    #[serde(default)]
    styles: BTreeMap<String, StyleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StyleSpec {
    /// Shorthand: a foreground colour.
    Fg(String),
    Full {
        #[serde(default)]
        fg: Option<String>,
        #[serde(default)]
        bg: Option<String>,
        #[serde(default)]
        modifiers: Vec<String>,
    },
}

/// FNV-1a: style keys are short and looked up for every drawn cell, where SipHash's
/// DoS resistance buys nothing and costs a visible share of a frame.
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type Styles = HashMap<&'static str, Style, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Debug, Clone)]
pub struct Theme {
    styles: Styles,
    pub symbols: Symbols,
    pub depth: ColorDepth,
}

impl Theme {
    /// `name` is a built-in theme or a path to a TOML file.
    pub fn load(
        name: &str,
        overrides: &BTreeMap<String, String>,
        depth: ColorDepth,
        ascii: bool,
    ) -> Result<Theme, String> {
        let text = match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => text.to_string(),
            None => std::fs::read_to_string(Path::new(name)).map_err(|e| {
                let names: Vec<_> = BUILT_IN.iter().map(|(n, _)| *n).collect();
                format!(
                    "theme {name:?}: not a built-in theme ({}) and not a readable file: {e}",
                    names.join(", ")
                )
            })?,
        };
        Theme::parse(name, &text, overrides, depth, ascii)
    }

    pub fn parse(
        name: &str,
        text: &str,
        overrides: &BTreeMap<String, String>,
        depth: ColorDepth,
        ascii: bool,
    ) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| format!("theme {name:?}: {e}"))?;
        let palette = |value: &str| -> Result<Color, String> {
            let resolved = file.palette.get(value).map_or(value, String::as_str);
            parse_color(resolved).ok_or_else(|| {
                format!("theme {name:?}: {value:?} is neither a palette entry nor a colour (use #rrggbb, 0-255 or a name like red)")
            })
        };
        let mut styles = Styles::default();
        for (key, spec) in &file.styles {
            let key = known_key(key).ok_or_else(|| {
                format!(
                    "theme {name:?}: unknown style key {key:?}; known keys: {}",
                    KEYS.join(", ")
                )
            })?;
            let style = match spec {
                StyleSpec::Fg(fg) => Style::new().fg(palette(fg)?),
                StyleSpec::Full { fg, bg, modifiers } => {
                    let mut style = Style::new();
                    if let Some(fg) = fg {
                        style = style.fg(palette(fg)?);
                    }
                    if let Some(bg) = bg {
                        style = style.bg(palette(bg)?);
                    }
                    for m in modifiers {
                        style = style.add_modifier(parse_modifier(m).ok_or_else(|| {
                            format!("theme {name:?}: {key}: unknown modifier {m:?} (bold, dim, italic, underlined, reversed)")
                        })?);
                    }
                    style
                }
            };
            styles.insert(key, style);
        }
        for (key, value) in overrides {
            let key = known_key(key).ok_or_else(|| {
                format!(
                    "[theme] in the config: unknown key {key:?}; known keys: {}",
                    KEYS.join(", ")
                )
            })?;
            let colour = palette(value).map_err(|e| format!("[theme] {key}: {e}"))?;
            let style = styles.entry(key).or_default();
            *style = if BACKGROUND_KEYS.contains(&key) {
                style.bg(colour)
            } else {
                style.fg(colour)
            };
        }
        for style in styles.values_mut() {
            *style = adapt(*style, depth);
        }
        if depth == ColorDepth::None {
            // Without colour the selection must still be visible.
            styles.insert("selection", Style::new().add_modifier(Modifier::REVERSED));
            styles.insert(
                "selection.unfocused",
                Style::new().add_modifier(Modifier::UNDERLINED),
            );
            styles.insert("pane.focused", Style::new().add_modifier(Modifier::BOLD));
            styles.insert("env.focused", Style::new().add_modifier(Modifier::REVERSED));
        }
        Ok(Theme {
            styles,
            symbols: Symbols::new(ascii),
            depth,
        })
    }

    /// The style of a semantic key, falling back to its parents, then to `text`.
    pub fn style(&self, key: &str) -> Style {
        let mut key = key;
        loop {
            if let Some(style) = self.styles.get(key) {
                return *style;
            }
            match key.rfind('.') {
                Some(dot) => key = &key[..dot],
                None => return self.styles.get("text").copied().unwrap_or_default(),
            }
        }
    }

    pub fn health(&self, health: Health) -> Style {
        self.style(match health {
            Health::Ok => "status.ok",
            Health::Progressing => "status.progressing",
            Health::Failing => "status.failing",
            Health::Paused => "status.paused",
            Health::Unknown => "status.unknown",
        })
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::parse(
            "dark",
            BUILT_IN[0].1,
            &BTreeMap::new(),
            ColorDepth::TrueColor,
            false,
        )
        .unwrap_or_else(|_| Theme {
            styles: Styles::default(),
            symbols: Symbols::UNICODE,
            depth: ColorDepth::TrueColor,
        })
    }
}

fn known_key(key: &str) -> Option<&'static str> {
    KEYS.iter().copied().find(|k| *k == key)
}

fn parse_modifier(text: &str) -> Option<Modifier> {
    Some(match text.to_ascii_lowercase().as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        _ => return None,
    })
}

fn adapt(style: Style, depth: ColorDepth) -> Style {
    Style {
        fg: style.fg.and_then(|c| depth.adapt(c)),
        bg: style.bg.and_then(|c| depth.adapt(c)),
        ..style
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_loads_and_sets_every_key() {
        for (name, text) in BUILT_IN {
            let theme = Theme::parse(name, text, &BTreeMap::new(), ColorDepth::TrueColor, false)
                .unwrap_or_else(|e| panic!("{e}"));
            for key in KEYS {
                assert!(theme.styles.contains_key(key), "theme {name} lacks {key}");
            }
        }
    }

    #[test]
    fn overrides_and_no_color() {
        let overrides = BTreeMap::from([("status.ok".to_string(), "#010203".to_string())]);
        let theme = Theme::parse(
            "dark",
            BUILT_IN[0].1,
            &overrides,
            ColorDepth::TrueColor,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(theme.style("status.ok").fg, Some(Color::Rgb(1, 2, 3)));
        let plain = Theme::parse("dark", BUILT_IN[0].1, &overrides, ColorDepth::None, true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.style("status.ok").fg, None);
        assert!(
            plain
                .style("selection")
                .add_modifier
                .contains(Modifier::REVERSED)
        );
        assert_eq!(plain.symbols.health(Health::Failing), "x");
        let bad = BTreeMap::from([("status.okay".to_string(), "red".to_string())]);
        let err = Theme::parse("dark", BUILT_IN[0].1, &bad, ColorDepth::TrueColor, false)
            .err()
            .unwrap_or_default();
        assert!(err.contains("unknown key \"status.okay\""), "{err}");
    }

    #[test]
    fn ansi256_fallback_converts_rgb() {
        let theme = Theme::parse(
            "dark",
            BUILT_IN[0].1,
            &BTreeMap::new(),
            ColorDepth::Ansi256,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            theme.style("status.ok").fg,
            Some(Color::Indexed(_))
        ));
    }
}
