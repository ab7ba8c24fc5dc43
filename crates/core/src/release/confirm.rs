//! The confirmation policy, as data, shared by the console's dialog and the CLI's flags:
//! ordinary environments ask yes/no, protected ones need the service name typed, plans that
//! write nothing (and builds, which change no running service) need no question.

use serde::Serialize;

use super::plan::{Action, Plan};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Confirmation {
    None,
    YesNo,
    /// The user must type this (the service name); Enter alone does nothing.
    TypeName(String),
}

/// What confirming `plan` takes.
pub fn required(plan: &Plan) -> Confirmation {
    if plan.writes.is_empty() || matches!(plan.action, Action::Build { .. }) {
        Confirmation::None
    } else if plan.protected {
        Confirmation::TypeName(plan.service.clone())
    } else {
        Confirmation::YesNo
    }
}

/// Whether an answer typed into the dialog (or at the prompt) confirms.
pub fn accepts(confirmation: &Confirmation, answer: &str) -> bool {
    let answer = answer.trim();
    match confirmation {
        Confirmation::None => true,
        Confirmation::YesNo => matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes"),
        Confirmation::TypeName(name) => answer == name,
    }
}

/// The CLI's verdict from its flags and whether a terminal can be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Proceed,
    Ask(Confirmation),
    Refuse(String),
}

/// `--yes` answers yes/no questions; a protected environment additionally needs
/// `--confirm SERVICE`. Without those, a terminal is asked; without a terminal, refused.
pub fn cli_decision(
    confirmation: &Confirmation,
    env: &str,
    yes: bool,
    confirm: Option<&str>,
    tty: bool,
) -> Decision {
    match confirmation {
        Confirmation::None => Decision::Proceed,
        Confirmation::YesNo if yes => Decision::Proceed,
        Confirmation::YesNo if tty => Decision::Ask(confirmation.clone()),
        Confirmation::YesNo => Decision::Refuse(
            "refused: this writes to the cluster and there is no terminal to ask; pass --yes to \
             confirm"
                .into(),
        ),
        Confirmation::TypeName(name) => match confirm {
            Some(typed) if typed != name => Decision::Refuse(format!(
                "refused: --confirm {typed:?} does not match the service name {name:?}"
            )),
            Some(_) if yes => Decision::Proceed,
            _ if tty => Decision::Ask(confirmation.clone()),
            _ => Decision::Refuse(format!(
                "refused: {env} is a protected environment; pass --yes --confirm {name} (the \
                 service name) to confirm without a terminal"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_name_must_match_exactly() {
        let c = Confirmation::TypeName("orders".into());
        assert!(accepts(&c, "orders\n"));
        assert!(!accepts(&c, ""));
        assert!(!accepts(&c, "y"));
        assert!(!accepts(&c, "Orders"));
        assert!(accepts(&Confirmation::YesNo, "Y"));
        assert!(!accepts(&Confirmation::YesNo, "n"));
    }

    #[test]
    fn cli_flags_and_terminals() {
        let yn = Confirmation::YesNo;
        let name = Confirmation::TypeName("orders".into());
        assert_eq!(
            cli_decision(&yn, "dev", true, None, false),
            Decision::Proceed
        );
        assert_eq!(
            cli_decision(&yn, "dev", false, None, true),
            Decision::Ask(yn.clone())
        );
        assert!(matches!(
            cli_decision(&yn, "dev", false, None, false),
            Decision::Refuse(_)
        ));

        assert_eq!(
            cli_decision(&name, "prod", true, Some("orders"), false),
            Decision::Proceed
        );
        let Decision::Refuse(why) = cli_decision(&name, "prod", true, None, false) else {
            panic!("protected without --confirm must be refused without a terminal");
        };
        assert!(why.contains("--confirm orders"), "{why}");
        assert!(matches!(
            cli_decision(&name, "prod", true, Some("payments"), true),
            Decision::Refuse(_)
        ));
        assert_eq!(
            cli_decision(&name, "prod", true, None, true),
            Decision::Ask(name.clone())
        );
        assert_eq!(
            cli_decision(&name, "prod", false, Some("orders"), true),
            Decision::Ask(name.clone())
        );
    }
}
