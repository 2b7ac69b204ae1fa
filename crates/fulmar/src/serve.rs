//! `fulmar serve`: open the store, load the configuration, start the data plane and
//! the API server, and shut both down cleanly on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use anyhow::Context;
use clap::Args;

use fulmar_alb::DataPlane;
use fulmar_control::{Control, Settings};
use fulmar_store::{Op, RedbStore, Store, StoreError};

use crate::glue;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Directory holding the embedded store and node secrets (created if missing).
    #[arg(long, default_value = "fulmar-data")]
    pub data_dir: PathBuf,
    /// Address of the AWS API endpoint (point the aws CLI's --endpoint-url here).
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub api_addr: SocketAddr,
    /// Address of the authoritative DNS server for Route 53 zones and load balancer
    /// names (UDP and TCP): `dig @127.0.0.1 -p 8053 NAME`.
    #[arg(long, default_value = "127.0.0.1:8053")]
    pub dns_addr: SocketAddr,
    /// Which client address blocks stand for which AWS region, place and VPC (Route 53
    /// latency, geolocation and private-zone answers); see examples/client-locations.txt.
    #[arg(long)]
    pub client_locations: Option<PathBuf>,
    /// Loopback range from which each load balancer gets its own address.
    #[arg(long, default_value = "127.10.0.0/16")]
    pub lb_address_pool: ipnet::Ipv4Net,
    /// The AWS account id in every ARN and owner id.
    #[arg(long, default_value = "000000000000")]
    pub account_id: String,
    /// Data-plane and API worker threads (default: one per core). With 1, everything
    /// runs on the main thread (a current-thread runtime: no cross-thread wake-ups).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Deviation from AWS, off by default (for moto's elbv2 test suite, whose fixture
    /// needs it): accept load balancer security groups from another VPC than the
    /// subnets'. AWS answers InvalidSecurityGroup.
    #[arg(long)]
    pub allow_cross_vpc_security_groups: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.account_id.len() != 12 || !args.account_id.chars().all(|c| c.is_ascii_digit()) {
        anyhow::bail!("--account-id must be 12 digits, got {:?}", args.account_id);
    }
    let mut builder = match args.workers {
        Some(0 | 1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all();
    let runtime = builder.build().context("starting the runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory {}", args.data_dir.display()))?;
    let path = args.data_dir.join("fulmar.redb");
    let creating = is_new(&path).then(|| CreatingStore::start(path.clone()));
    let store: Arc<dyn Store> = match &creating {
        Some(creating) => creating.clone(),
        None => Arc::new(RedbStore::open(&path).context("opening the store")?),
    };
    let served = serve_with(args, store, creating.clone()).await;
    // A store still being created is finished before exiting (even when start-up
    // failed), never left half-written.
    if let Some(creating) = creating {
        creating.wait();
    }
    served
}

async fn serve_with(
    args: ServeArgs,
    store: Arc<dyn Store>,
    creating: Option<Arc<CreatingStore>>,
) -> anyhow::Result<()> {
    let settings = Settings {
        account_id: args.account_id.clone(),
        address_pool: args.lb_address_pool,
        cross_vpc_security_groups: args.allow_cross_vpc_security_groups,
    };
    let (control, config_rx) = Control::open(store.clone(), settings).context("loading the configuration")?;
    let control = Arc::new(control);

    let cookie_key = node_key(&args.data_dir.join("cookie.key"))?;
    let options = fulmar_alb::Options {
        data_dir: Some(args.data_dir.clone()),
        account_id: args.account_id.clone(),
        ..fulmar_alb::Options::new(cookie_key)
    };
    let data_plane = DataPlane::start(config_rx.clone(), options);
    control.set_health_view(Arc::new(glue::AlbHealth(data_plane.health())));

    let prober = fulmar_r53health::HealthChecker::start(config_rx.clone(), fulmar_r53health::Options::default());
    control.set_route53_health_view(Arc::new(glue::Route53Health(prober.board())));
    let oracle = glue::DnsHealth {
        checks: prober.board(),
        targets: data_plane.health(),
        config: config_rx.clone(),
    };
    let mut dns_options = fulmar_dns::Options::default();
    if let Some(path) = &args.client_locations {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let locator = crate::locations::parse(&text).with_context(|| format!("in {}", path.display()))?;
        dns_options.locator = Arc::new(locator);
    }
    let dns = fulmar_dns::DnsServer::start(args.dns_addr, config_rx, Arc::new(oracle), dns_options)
        .with_context(|| format!("binding the DNS address {}", args.dns_addr))?;
    let answers = Arc::new(glue::DnsAnswers::default());
    let _ = answers.0.set(dns.clone());
    control.set_dns_answerer(answers);

    let listener = tokio::net::TcpListener::bind(args.api_addr)
        .await
        .with_context(|| format!("binding the API address {}", args.api_addr))?;
    tracing::info!(api = %args.api_addr, dns = %args.dns_addr, data_dir = %args.data_dir.display(), pool = %args.lb_address_pool, "fulmar is ready");
    let api = tokio::spawn(crate::api::serve(listener, control.clone(), data_plane.clone()));
    // ACM managed renewal: certificates only a listener uses are renewed in time too.
    let renewing = control.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let control = renewing.clone();
            let _ = tokio::task::spawn_blocking(move || control.renew_certificates()).await;
        }
    });
    // Start-up's transient allocations (the store's first pages, parsing) are freed by
    // now, or soon after a store being created is ready: give their memory back.
    tokio::task::spawn_blocking(move || {
        if let Some(creating) = creating {
            creating.wait();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        fulmar_alb::release_free_memory();
    });

    shutdown_signal().await;
    tracing::info!("shutting down");
    api.abort();
    dns.shutdown();
    drop(prober);
    data_plane.shutdown().await;
    Ok(())
}

/// True when `path` holds no store yet (a fresh data directory).
fn is_new(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) => meta.len() == 0,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// A store whose file is being created on a thread of its own, so that a fresh
/// data directory answers the API at once instead of after redb's first fsyncs.
/// Until the file is ready the store is empty (nothing can have been committed: a
/// commit waits for the file), so reads answer empty without waiting; a commit waits.
/// If the file cannot be created, Fulmar exits as it does when opening fails.
struct CreatingStore {
    store: OnceLock<RedbStore>,
    done: Mutex<bool>,
    opened: Condvar,
}

impl CreatingStore {
    fn start(path: PathBuf) -> Arc<CreatingStore> {
        let this = Arc::new(CreatingStore {
            store: OnceLock::new(),
            done: Mutex::new(false),
            opened: Condvar::new(),
        });
        let creating = this.clone();
        std::thread::Builder::new()
            .name("store-create".into())
            .spawn(move || match RedbStore::open(&path) {
                Ok(store) => {
                    let _ = creating.store.set(store);
                    *creating.done.lock().unwrap_or_else(|p| p.into_inner()) = true;
                    creating.opened.notify_all();
                }
                Err(e) => {
                    eprintln!("Error: opening the store {}: {e}", path.display());
                    std::process::exit(1);
                }
            })
            .expect("spawning the store thread");
        this
    }

    /// The store, waiting until it is created.
    fn wait(&self) -> &RedbStore {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        while !*done {
            done = self.opened.wait(done).unwrap_or_else(|p| p.into_inner());
        }
        self.store.get().expect("set before done")
    }
}

impl Store for CreatingStore {
    fn commit(&self, ops: &[Op]) -> Result<u64, StoreError> {
        self.wait().commit(ops)
    }

    fn scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match self.store.get() {
            Some(store) => store.scan(prefix),
            None => Ok(Vec::new()),
        }
    }

    fn scan_each(&self, prefix: &str, visit: &mut dyn FnMut(&str, &[u8])) -> Result<(), StoreError> {
        match self.store.get() {
            Some(store) => store.scan_each(prefix, visit),
            None => Ok(()),
        }
    }

    fn revision(&self) -> Result<u64, StoreError> {
        match self.store.get() {
            Some(store) => store.revision(),
            None => Ok(0),
        }
    }
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
