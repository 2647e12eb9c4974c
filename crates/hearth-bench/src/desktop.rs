//! `desktop`: the desktop app's memory (issue 17). Being written; until
//! then the subcommand says so and fails.

use clap::Args;

#[derive(Args)]
pub struct DesktopArgs {}

pub fn main(_args: DesktopArgs) -> anyhow::Result<()> {
    anyhow::bail!("hearth-bench desktop is not written yet")
}
