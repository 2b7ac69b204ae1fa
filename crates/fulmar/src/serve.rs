//! `fulmar serve`: open the store, load the configuration, start the data plane and
//! the API server, and shut both down cleanly on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use fulmar_alb::DataPlane;
use fulmar_control::{Control, HealthView, Settings};
use fulmar_model::Target;
use fulmar_routing::health::TargetHealth;
use fulmar_store::RedbStore;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Directory holding the embedded store and node secrets (created if missing).
    #[arg(long, default_value = "fulmar-data")]
    pub data_dir: PathBuf,
    /// Address of the AWS API endpoint (point the aws CLI's --endpoint-url here).
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub api_addr: SocketAddr,
    /// Loopback range from which each load balancer gets its own address.
    #[arg(long, default_value = "127.10.0.0/16")]
    pub lb_address_pool: ipnet::Ipv4Net,
    /// The AWS account id in every ARN and owner id.
    #[arg(long, default_value = "000000000000")]
    pub account_id: String,
    /// Data-plane and API worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
}

/// DescribeTargetHealth reads the data plane's health board through this adapter.
struct BoardView(Arc<fulmar_alb::HealthBoard>);

impl HealthView for BoardView {
    fn target_health(&self, target_group_arn: &str, target: &Target) -> TargetHealth {
        self.0.target_health(target_group_arn, target)
    }
    fn draining(&self, target_group_arn: &str) -> Vec<Target> {
        self.0.draining(target_group_arn)
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.account_id.len() != 12 || !args.account_id.chars().all(|c| c.is_ascii_digit()) {
        anyhow::bail!("--account-id must be 12 digits, got {:?}", args.account_id);
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = args.workers {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder.build().context("starting the runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let store = RedbStore::open(&args.data_dir.join("fulmar.redb")).context("opening the store")?;
    let settings = Settings { account_id: args.account_id.clone(), address_pool: args.lb_address_pool };
    let (control, config_rx) = Control::open(Arc::new(store), settings).context("loading the configuration")?;
    let control = Arc::new(control);

    let cookie_key = node_key(&args.data_dir.join("cookie.key"))?;
    let data_plane = DataPlane::start(config_rx, fulmar_alb::Options { cookie_key });
    control.set_health_view(Arc::new(BoardView(data_plane.health())));

    let listener = tokio::net::TcpListener::bind(args.api_addr)
        .await
        .with_context(|| format!("binding the API address {}", args.api_addr))?;
    tracing::info!(api = %args.api_addr, data_dir = %args.data_dir.display(), pool = %args.lb_address_pool, "fulmar is ready");
    let api = tokio::spawn(crate::api::serve(listener, control.clone()));

    shutdown_signal().await;
    tracing::info!("shutting down");
    api.abort();
    data_plane.shutdown().await;
    Ok(())
}

/// The node's 32-byte secret for stickiness cookies, created once and kept in the data dir.
fn node_key(path: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    if let Ok(bytes) = std::fs::read(path) {
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(key);
        }
    }
    let key: [u8; 32] = rand::random();
    std::fs::write(path, key).with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
