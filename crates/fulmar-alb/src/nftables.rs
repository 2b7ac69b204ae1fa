//! Packet-level enforcement of load balancers' security groups with nftables.
//!
//! One table of this data plane's own (`inet <table>`) holds one input chain: packets
//! of connections already admitted pass; for each gated listener, new packets to its
//! address and port pass when their source is in the set the engine computed
//! ([`fulmar_secgroup::ingress_sources`]) and are dropped otherwise, so a blocked
//! client's SYN is simply never answered. The table is replaced whole and atomically
//! (one `nft -f` transaction) whenever a snapshot changes it, deleted when no listener
//! is gated, on shutdown, and when the data plane is dropped. Tables left behind by a
//! Fulmar process that died (`fulmar_<pid>_<n>` of a pid no longer running) are
//! deleted when this data plane first installs its own.

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use ipnet::IpNet;

use crate::secgroups::Enforcement;
use crate::snapshot::Snapshot;

/// Numbers the tables of the data planes of this process.
static NEXT_TABLE: AtomicU32 = AtomicU32::new(0);

enum State {
    /// In process only, by choice.
    Off,
    /// Not tried yet (`Auto` probes `nft` when a listener first needs a gate).
    Untried {
        probe: bool,
    },
    Ready,
    /// `nft` is missing, not permitted, or failed: in process only.
    Failed,
}

/// The nftables table of one data plane.
pub(crate) struct PacketFilter {
    table: String,
    state: State,
    /// The ruleset installed now (`None`: no table).
    installed: Option<String>,
    warned: bool,
}

impl PacketFilter {
    pub fn new(enforcement: &Enforcement) -> PacketFilter {
        let auto_name = || {
            let n = NEXT_TABLE.fetch_add(1, Ordering::Relaxed);
            format!("fulmar_{}_{n}", std::process::id())
        };
        let (table, state) = match enforcement {
            Enforcement::InProcess => (String::new(), State::Off),
            Enforcement::Auto => (auto_name(), State::Untried { probe: true }),
            Enforcement::Nftables { table } => (table.clone(), State::Untried { probe: false }),
        };
        PacketFilter {
            table,
            state,
            installed: None,
            warned: false,
        }
    }

    /// Bring the table in line with `snapshot`'s gated listeners.
    pub fn apply(&mut self, snapshot: &Snapshot) {
        let mut gates: Vec<(SocketAddr, &[IpNet])> = snapshot
            .listeners
            .values()
            .filter_map(|l| Some((l.address, l.allowed_sources.as_deref()?)))
            .collect();
        if gates.is_empty() {
            self.remove();
            return;
        }
        gates.sort_by_key(|(address, _)| *address);
        if let State::Untried { probe } = self.state {
            self.state = match probe.then(probe_nft).unwrap_or(Ok(())) {
                Ok(()) => {
                    remove_stale_tables();
                    State::Ready
                }
                Err(reason) => self.fail(&reason),
            };
        }
        match self.state {
            State::Ready => {}
            State::Off => return,
            State::Failed | State::Untried { .. } => return self.warn_once("nft is unavailable"),
        }
        let ruleset = render(&self.table, &gates);
        if self.installed.as_deref() == Some(ruleset.as_str()) {
            return;
        }
        let script = format!("add table inet {t}\ndelete table inet {t}\n{ruleset}", t = self.table);
        match nft(&script) {
            Ok(()) => {
                tracing::info!(table = %self.table, listeners = gates.len(), "security groups enforced by nftables");
                self.installed = Some(ruleset);
            }
            Err(reason) => {
                self.state = self.fail(&reason);
                self.remove();
            }
        }
    }

    /// Delete the table if it is installed.
    pub fn remove(&mut self) {
        if self.installed.take().is_some() {
            if let Err(reason) = nft(&format!("delete table inet {}\n", self.table)) {
                tracing::warn!(table = %self.table, %reason, "could not delete the nftables table");
            }
        }
    }

    fn fail(&mut self, reason: &str) -> State {
        self.warn_once(reason);
        State::Failed
    }

    fn warn_once(&mut self, reason: &str) {
        if !std::mem::replace(&mut self.warned, true) {
            tracing::warn!(
                %reason,
                "packet-level security-group enforcement unavailable (needs root and nft); \
                 enforcing in process: blocked clients' connections are accepted and held silent"
            );
        }
    }
}

impl Drop for PacketFilter {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The table: admitted connections pass; per gated listener, allowed sources pass
/// and everything else to it is dropped.
fn render(table: &str, gates: &[(SocketAddr, &[IpNet])]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "table inet {table} {{");
    out.push_str("\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n");
    out.push_str("\t\tct state established,related accept\n");
    for (address, sources) in gates {
        let (family, daddr) = match address.ip() {
            IpAddr::V4(a) => ("ip", a.to_string()),
            IpAddr::V6(a) => ("ip6", a.to_string()),
        };
        let port = address.port();
        let same_family: Vec<String> = sources
            .iter()
            .filter(|net| net.addr().is_ipv4() == address.is_ipv4())
            .map(|net| net.to_string())
            .collect();
        let to = format!("{family} daddr {daddr} tcp dport {port}");
        if !same_family.is_empty() {
            let _ = writeln!(out, "\t\t{to} {family} saddr {{ {} }} accept", same_family.join(", "));
        }
        let _ = writeln!(out, "\t\t{to} drop");
    }
    out.push_str("\t}\n}\n");
    out
}

/// Run an nft script as one transaction.
fn nft(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| format!("cannot write to nft: {e}"))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Whether `nft` runs and may read the ruleset (it may then also change it).
fn probe_nft() -> Result<(), String> {
    let output = Command::new("nft")
        .args(["list", "tables"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Delete `fulmar_<pid>_<n>` tables whose process is gone.
fn remove_stale_tables() {
    let Ok(output) = Command::new("nft").args(["list", "tables", "inet"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(name) = line.trim().strip_prefix("table inet ") else {
            continue;
        };
        let Some(pid) = stale_pid(name) else { continue };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        match nft(&format!("delete table inet {name}\n")) {
            Ok(()) => {
                tracing::info!(table = %name, "deleted the nftables table of a Fulmar process that is gone")
            }
            Err(reason) => {
                tracing::debug!(table = %name, %reason, "could not delete a stale table")
            }
        }
    }
}

/// The pid in `fulmar_<pid>_<n>`.
fn stale_pid(name: &str) -> Option<u32> {
    let (pid, n) = name.strip_prefix("fulmar_")?.split_once('_')?;
    n.parse::<u32>().ok()?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_accept_set_and_one_drop_per_listener() {
        let allowed: Vec<IpNet> = vec!["127.50.0.0/16".parse().unwrap(), "2001:db8::/32".parse().unwrap()];
        let closed: Vec<IpNet> = vec![];
        let text = render(
            "t",
            &[
                ("127.77.0.1:80".parse().unwrap(), &allowed),
                ("127.77.0.2:81".parse().unwrap(), &closed),
            ],
        );
        assert_eq!(
            text,
            "table inet t {\n\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n\
             \t\tct state established,related accept\n\
             \t\tip daddr 127.77.0.1 tcp dport 80 ip saddr { 127.50.0.0/16 } accept\n\
             \t\tip daddr 127.77.0.1 tcp dport 80 drop\n\
             \t\tip daddr 127.77.0.2 tcp dport 81 drop\n\t}\n}\n"
        );
    }

    #[test]
    fn stale_tables_are_recognised_by_name() {
        assert_eq!(stale_pid("fulmar_1234_0"), Some(1234));
        assert_eq!(stale_pid("fulmar"), None);
        assert_eq!(stale_pid("fulmar_test_1"), None);
        assert_eq!(stale_pid("other_1_2"), None);
    }
}
