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
    limit_malloc_arenas();
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

/// glibc gives each thread that meets contention an arena of its own, up to eight per
/// core, and each keeps its own freed memory. One per core (at least two) is enough for
/// the worker threads; the API's blocking threads share them.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        // SAFETY: called first thing in main, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores.min(i32::MAX as usize) as i32);
        }
    }
}
