//! The sockets: UDP workers and a TCP acceptor on one address, and the task that
//! follows configuration snapshots.
//!
//! Each snapshot is compiled on a blocking thread and swapped in with `arc-swap`; a
//! query loads the current index without a lock, so a rebuild never delays an answer.
//! A new index is derived from the previous one ([`ZoneIndex::update`]: only changed
//! record sets are applied), and snapshots that arrive while one is being compiled are
//! coalesced: the next compile takes the latest. A compile that took a while (a large
//! zone under a bulk load) is followed by a pause as long as it took, so the cores go
//! to the API and the next update covers several batches at once.
//!
//! UDP is served in batches: one readiness wake-up reads up to [`BATCH`] datagrams
//! with `recvmmsg`, answers them (through a per-worker [`AnswerCache`]) and sends the
//! answers with one `sendmmsg`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use fulmar_model::Config;
use ipnet::IpNet;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::index::ZoneIndex;
use crate::test_answer::{test_answer, TestAnswer};
use crate::wire::{respond, respond_cached, AnswerCache, Transport};
use crate::{Error, HealthOracle, Options};

/// How long a TCP connection may sit idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// Index compiles that take at least this long are followed by a pause as long as
/// they took (at most [`COALESCE_MAX`]), so that changes arriving meanwhile coalesce.
const COALESCE_ABOVE: Duration = Duration::from_millis(2);
const COALESCE_MAX: Duration = Duration::from_millis(250);
/// Datagrams read (and answers sent) per system call.
pub const BATCH: usize = 32;
/// The largest request read over UDP; a longer datagram is dropped.
const UDP_REQUEST_MAX: usize = 4096;

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

    /// One UDP request: the answer in `out`; `false` when nothing is sent.
    fn respond_udp(
        &self,
        index: &ZoneIndex,
        cache: &mut AnswerCache,
        bytes: &[u8],
        source: IpAddr,
        rng: &mut StdRng,
        out: &mut Vec<u8>,
    ) -> bool {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            respond_cached(cache, index, bytes, source, &*self.oracle, &self.options, rng, out)
        }))
        .unwrap_or_else(|_| {
            tracing::error!(%source, "panic while answering a DNS message; dropped");
            *cache = AnswerCache::new();
            false
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
        // One UDP task per runtime worker: more would only take turns at one socket.
        let workers = tokio::runtime::Handle::current().metrics().num_workers().max(1);
        for _ in 0..workers {
            tasks.push(tokio::spawn(serve_udp(udp.clone(), shared.clone())));
        }
        tasks.push(tokio::spawn(serve_tcp(tcp, shared)));
        tasks.push(tokio::spawn({
            let index = index.clone();
            async move {
                // Snapshots published while one compiles are coalesced by the channel:
                // `changed` then reports once and the latest is taken.
                while config.changed().await.is_ok() {
                    // Let the API call that published this snapshot answer first.
                    tokio::task::yield_now().await;
                    let snapshot = config.borrow_and_update().clone();
                    let index = index.clone();
                    let started = std::time::Instant::now();
                    // The new index is swapped in, and the old one freed, off the runtime's
                    // workers (freeing the nodes a large update replaced takes a while).
                    let compiled = tokio::task::spawn_blocking(move || {
                        let prev = index.load_full();
                        let next = ZoneIndex::update(&prev, &snapshot);
                        tracing::debug!(elapsed = ?started.elapsed(), "DNS index compiled");
                        drop(prev);
                        drop(index.swap(Arc::new(next)));
                    })
                    .await;
                    if let Err(e) = compiled {
                        tracing::error!(error = %e, "building the DNS index failed; keeping the previous one");
                    }
                    // Under a stream of changes (a bulk load), leave the cores to the API
                    // for as long as the last compile took: the snapshots published
                    // meanwhile coalesce into one larger, cheaper update. An idle server
                    // compiles at once; a change is served within twice the compile time.
                    let spent = started.elapsed();
                    if spent >= COALESCE_ABOVE {
                        tokio::time::sleep(spent.min(COALESCE_MAX)).await;
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

/// The buffers of one UDP worker: requests in, answers out, peers' addresses.
struct Batch {
    requests: Vec<u8>,
    lens: [usize; BATCH],
    peers: [libc::sockaddr_storage; BATCH],
    peer_lens: [libc::socklen_t; BATCH],
    answers: Vec<Vec<u8>>,
    /// The slots with an answer to send, in order.
    ready: [usize; BATCH],
}

impl Batch {
    fn new() -> Box<Batch> {
        Box::new(Batch {
            requests: vec![0; BATCH * UDP_REQUEST_MAX],
            lens: [0; BATCH],
            // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
            peers: unsafe { std::mem::zeroed() },
            peer_lens: [0; BATCH],
            answers: (0..BATCH).map(|_| Vec::with_capacity(512)).collect(),
            ready: [0; BATCH],
        })
    }

    /// Read up to BATCH datagrams without blocking. Datagrams longer than the buffer
    /// get length 0 (dropped).
    fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: zeroed iovec/mmsghdr are valid; every pointer set below points into
        // `self`, which outlives the call, and the lengths match the buffers.
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for (i, (v, h)) in iov.iter_mut().zip(hdrs.iter_mut()).enumerate() {
            v.iov_base = self.requests[i * UDP_REQUEST_MAX..].as_mut_ptr().cast();
            v.iov_len = UDP_REQUEST_MAX;
            h.msg_hdr.msg_name = (&mut self.peers[i] as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: as above.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (i, h) in hdrs.iter().enumerate().take(n) {
            let truncated = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            self.lens[i] = if truncated { 0 } else { h.msg_len as usize };
            self.peer_lens[i] = h.msg_hdr.msg_namelen;
        }
        Ok(n)
    }

    fn request(&self, i: usize) -> &[u8] {
        &self.requests[i * UDP_REQUEST_MAX..i * UDP_REQUEST_MAX + self.lens[i]]
    }

    /// The source address of datagram `i`.
    fn peer(&self, i: usize) -> Option<IpAddr> {
        let sa = &self.peers[i];
        match i32::from(sa.ss_family) {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in for AF_INET.
                let v4 = unsafe { &*(sa as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))))
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6 for AF_INET6.
                let v6 = unsafe { &*(sa as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
                Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }

    /// Send the answers of `ready[from..to]` to their peers without blocking: how many
    /// went out (at least one, or an error about the first).
    fn send(&mut self, fd: RawFd, from: usize, to: usize) -> io::Result<usize> {
        // SAFETY: as in `recv`; the answers are not touched while the call runs.
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        let count = to - from;
        for (j, (v, h)) in iov.iter_mut().zip(hdrs.iter_mut()).take(count).enumerate() {
            let slot = self.ready[from + j];
            let answer = &mut self.answers[slot];
            v.iov_base = answer.as_mut_ptr().cast();
            v.iov_len = answer.len();
            h.msg_hdr.msg_name = (&mut self.peers[slot] as *mut libc::sockaddr_storage).cast();
            h.msg_hdr.msg_namelen = self.peer_lens[slot];
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: as above.
        let n = unsafe { libc::sendmmsg(fd, hdrs.as_mut_ptr(), count as libc::c_uint, libc::MSG_DONTWAIT) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

async fn serve_udp(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut rng = StdRng::from_entropy();
    let mut cache = AnswerCache::new();
    let mut b = Batch::new();
    let fd = socket.as_raw_fd();
    loop {
        let n = match socket.async_io(Interest::READABLE, || b.recv(fd)).await {
            Ok(n) => n,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some systems; keep going.
                tracing::debug!(error = %e, "UDP receive failed");
                continue;
            }
        };
        let mut ready = 0;
        {
            let index = shared.index.load();
            for i in 0..n {
                if b.lens[i] == 0 {
                    continue;
                }
                let Some(source) = b.peer(i) else { continue };
                let mut out = std::mem::take(&mut b.answers[i]);
                if shared.respond_udp(&index, &mut cache, b.request(i), source, &mut rng, &mut out) {
                    b.ready[ready] = i;
                    ready += 1;
                }
                b.answers[i] = out;
            }
        }
        let mut sent = 0;
        while sent < ready {
            match socket.async_io(Interest::WRITABLE, || b.send(fd, sent, ready)).await {
                Ok(k) => sent += k.max(1),
                Err(e) => {
                    tracing::debug!(error = %e, "UDP send failed");
                    sent += 1;
                }
            }
        }
        // Let the runtime's other tasks (the API, TCP) run between batches under load.
        tokio::task::consume_budget().await;
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
