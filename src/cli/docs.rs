//! `shipdeck completions SHELL` and `shipdeck man`: generated from the same clap definition
//! as the parser, so they never drift from the real flags.

use clap::{Args, CommandFactory};
use clap_complete::Shell;
use color_eyre::Result;

use super::Cli;

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script, e.g. `shipdeck completions bash > /etc/bash_completion.d/shipdeck`.
pub fn completions(args: &CompletionsArgs) -> Result<i32> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "shipdeck", &mut std::io::stdout());
    Ok(0)
}

/// Prints the man page in roff, e.g. `shipdeck man > ~/.local/share/man/man1/shipdeck.1`.
pub fn man() -> Result<i32> {
    let command = Cli::command();
    clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
    Ok(0)
}
