//! The `fulmar` binary: parses the command line and wires the API server, the
//! control plane, the store and the ALB data plane together.

mod api;
mod demo;
mod explain;
mod glue;
mod locations;
mod serve;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "fulmar",
    version,
    about = "The AWS edge (ELBv2 and EC2 networking) as one local program, driven by the real AWS API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AWS API and the load balancers' data plane.
    Serve(serve::ServeArgs),
    /// Explain whether security groups let a flow through, and which rule decides it,
    /// asking a running `fulmar serve`.
    Explain(explain::ExplainArgs),
    /// Start Fulmar with two sample backends and a load balancer built through the API,
    /// print the curl commands to try, and serve until Ctrl-C.
    Demo(demo::DemoArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("FULMAR_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Demo(args) => demo::run(args),
    }
}
