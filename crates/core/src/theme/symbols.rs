//! State symbols, so that no state is shown by colour alone; ASCII stand-ins for terminals
//! or fonts without them (`console.ascii`).

use crate::model::derive::Health;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbols {
    pub ok: &'static str,
    pub progressing: &'static str,
    pub failing: &'static str,
    pub paused: &'static str,
    pub unknown: &'static str,
    pub canary: &'static str,
    pub runs: &'static str,
    pub not_here: &'static str,
    pub in_prod: &'static str,
    pub last_known_good: &'static str,
    pub current: &'static str,
    pub protected: &'static str,
    pub gauge_full: &'static str,
    pub gauge_empty: &'static str,
}

impl Symbols {
    pub const UNICODE: Symbols = Symbols {
        ok: "✓",
        progressing: "⟳",
        failing: "✗",
        paused: "⏸",
        unknown: "?",
        canary: "◆",
        runs: "●",
        not_here: "·",
        in_prod: "★",
        last_known_good: "⚑",
        current: "▶",
        protected: "⚠",
        gauge_full: "█",
        gauge_empty: "░",
    };

    pub const ASCII: Symbols = Symbols {
        ok: "+",
        progressing: "~",
        failing: "x",
        paused: "=",
        unknown: "?",
        canary: "^",
        runs: "*",
        not_here: ".",
        in_prod: "P",
        last_known_good: "L",
        current: ">",
        protected: "!",
        gauge_full: "#",
        gauge_empty: "-",
    };

    pub fn new(ascii: bool) -> Symbols {
        if ascii {
            Symbols::ASCII
        } else {
            Symbols::UNICODE
        }
    }

    pub fn health(&self, health: Health) -> &'static str {
        match health {
            Health::Ok => self.ok,
            Health::Progressing => self.progressing,
            Health::Failing => self.failing,
            Health::Paused => self.paused,
            Health::Unknown => self.unknown,
        }
    }
}
