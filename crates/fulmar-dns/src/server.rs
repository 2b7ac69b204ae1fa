//! The sockets: UDP workers and a TCP acceptor on one address, and the task that
//! follows configuration snapshots.
//!
//! Each snapshot is compiled on a blocking thread and swapped in with `arc-swap`; a
//! query loads the current index without a lock, so a rebuild never delays an answer.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use fulmar_model::Config;
use ipnet::IpNet;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::index::ZoneIndex;
use crate::test_answer::{test_answer, TestAnswer};
use crate::wire::{respond, Transport};
use crate::{Error, HealthOracle, Options};

/// How long a TCP connection may sit idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// UDP worker tasks sharing the socket.
const UDP_WORKERS: usize = 4;

/// The running DNS server.
pub struct DnsServer {
    index: Arc<ArcSwap<ZoneIndex>>,
    oracle: Arc<dyn HealthOracle>,
    options: Options,
    local_addr: SocketAddr,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What every socket task shares.
struct Shared {
    index: Arc<ArcSwap<ZoneIndex>>,
    oracle: Arc<dyn HealthOracle>,
    options: Options,
}

impl Shared {
    fn respond(&self, bytes: &[u8], source: IpAddr, transport: Transport, rng: &mut StdRng) -> Option<Vec<u8>> {
        let index = self.index.load();
        // A bug in answering one message must not take a worker down with it.
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            respond(&index, bytes, source, transport, &*self.oracle, &self.options, rng)
        }))
        .unwrap_or_else(|_| {
            tracing::error!(%source, "panic while answering a DNS message; dropped");
            None
        })
    }
}

impl DnsServer {
    /// Bind UDP and TCP on `addr` (with port 0, both get the same free port) and serve
    /// the zones of `config`'s snapshots. The current snapshot is compiled before this
    /// returns; later ones are compiled in the background and swapped in. Must be called
    /// inside a tokio runtime.
    pub fn start(
        addr: SocketAddr,
        mut config: watch::Receiver<Arc<Config>>,
        oracle: Arc<dyn HealthOracle>,
        options: Options,
    ) -> io::Result<Arc<DnsServer>> {
        let first = config.borrow_and_update().clone();
        let index = Arc::new(ArcSwap::from_pointee(ZoneIndex::build(&first)));
        let (udp, tcp) = bind(addr)?;
        let local_addr = udp.local_addr()?;
        let udp = Arc::new(UdpSocket::from_std(udp)?);
        let tcp = TcpListener::from_std(tcp)?;
        let shared = Arc::new(Shared {
            index: index.clone(),
            oracle: oracle.clone(),
            options: options.clone(),
        });
        let mut tasks = Vec::new();
        for _ in 0..UDP_WORKERS {
            tasks.push(tokio::spawn(serve_udp(udp.clone(), shared.clone())));
        }
        tasks.push(tokio::spawn(serve_tcp(tcp, shared)));
        tasks.push(tokio::spawn({
            let index = index.clone();
            async move {
                while config.changed().await.is_ok() {
                    let snapshot = config.borrow_and_update().clone();
                    match tokio::task::spawn_blocking(move || ZoneIndex::build(&snapshot)).await {
                        Ok(built) => index.store(Arc::new(built)),
                        Err(e) => {
                            tracing::error!(error = %e, "building the DNS index failed; keeping the previous one")
                        }
                    }
                }
                tracing::debug!("configuration channel closed; DNS server keeps its last snapshot");
            }
        }));
        tracing::info!(%local_addr, "DNS server listening (UDP and TCP)");
        Ok(Arc::new(DnsServer {
            index,
            oracle,
            options,
            local_addr,
            tasks: Mutex::new(tasks),
        }))
    }

    /// The address both sockets are bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The index queries are answered from now.
    pub fn index(&self) -> Arc<ZoneIndex> {
        self.index.load_full()
    }

    /// TestDNSAnswer against the current snapshot.
    pub fn test_answer(
        &self,
        record_name: &str,
        record_type: &str,
        resolver_ip: Option<IpAddr>,
        client_subnet: Option<IpNet>,
    ) -> Option<TestAnswer> {
        let index = self.index.load();
        test_answer(
            &index,
            &*self.oracle,
            &self.options,
            record_name,
            record_type,
            resolver_ip,
            client_subnet,
        )
    }

    /// Stop serving: both sockets close and the snapshot follower stops.
    pub fn shutdown(&self) {
        for t in self.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            t.abort();
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Bind UDP, then TCP on the same port (retrying a few ports when `addr` asked for any
/// port and the UDP one is taken for TCP).
fn bind(addr: SocketAddr) -> Result<(std::net::UdpSocket, std::net::TcpListener), Error> {
    let err = |source| Error::Bind { addr, source };
    for _ in 0..16 {
        let udp = std::net::UdpSocket::bind(addr).map_err(err)?;
        let port = udp.local_addr().map_err(err)?;
        match std::net::TcpListener::bind(port) {
            Ok(tcp) => {
                udp.set_nonblocking(true).map_err(err)?;
                tcp.set_nonblocking(true).map_err(err)?;
                return Ok((udp, tcp));
            }
            Err(e) if addr.port() == 0 && e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(err(e)),
        }
    }
    Err(err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no port free for both UDP and TCP",
    )))
}

async fn serve_udp(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut rng = StdRng::from_entropy();
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some systems; keep going.
                tracing::debug!(error = %e, "UDP receive failed");
                continue;
            }
        };
        if let Some(out) = shared.respond(&buf[..n], peer.ip(), Transport::Udp, &mut rng) {
            if let Err(e) = socket.send_to(&out, peer).await {
                tracing::debug!(%peer, error = %e, "UDP send failed");
            }
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(serve_connection(stream, peer, shared.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "TCP accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Length-prefixed messages until the client closes or idles out.
async fn serve_connection(mut stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let mut rng = StdRng::from_entropy();
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut msg)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let Some(out) = shared.respond(&msg, peer.ip(), Transport::Tcp, &mut rng) else {
            continue;
        };
        let Ok(out_len) = u16::try_from(out.len()) else {
            tracing::warn!(%peer, size = out.len(), "TCP answer larger than 65535 bytes; dropped");
            continue;
        };
        let mut framed = Vec::with_capacity(out.len() + 2);
        framed.extend_from_slice(&out_len.to_be_bytes());
        framed.extend_from_slice(&out);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}
