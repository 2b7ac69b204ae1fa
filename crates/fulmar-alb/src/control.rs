//! Applying configuration snapshots: the one place that owns the data plane's moving
//! parts (the compiled snapshot, listener sockets, health-check tasks) and brings them
//! (and the security groups' packet filter) in line with each new configuration.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use fulmar_model::Config;
use tokio::sync::mpsc;

use crate::alb::Alb;
use crate::health::checker::{Checker, Plan};
use crate::health::group::Mode;
use crate::health::{GroupHealth, HealthBoard};
use crate::listeners::Sockets;
use crate::nftables::PacketFilter;
use crate::observe::Observers;
use crate::secgroups::Enforcement;
use crate::snapshot::Snapshot;
use crate::Options;

pub(crate) struct Control {
    alb: Arc<Alb>,
    observers: Arc<Observers>,
    board: Arc<HealthBoard>,
    groups: HashMap<String, Arc<GroupHealth>>,
    checkers: HashMap<String, Checker>,
    sockets: Sockets,
    packet_filter: PacketFilter,
    /// Cloned into every connection task; [`Control::shut_down`] waits until all
    /// clones are gone.
    alive: Option<mpsc::Sender<()>>,
    drained: Option<mpsc::Receiver<()>>,
}

impl Control {
    pub fn new(
        options: &Options,
        observers: Arc<Observers>,
        board: Arc<HealthBoard>,
        enforcement: &Enforcement,
    ) -> Control {
        let (alive, drained) = mpsc::channel(1);
        Control {
            alb: Arc::new(Alb::new(options)),
            observers,
            board,
            groups: HashMap::new(),
            checkers: HashMap::new(),
            sockets: Sockets::default(),
            packet_filter: PacketFilter::new(enforcement),
            alive: Some(alive),
            drained: Some(drained),
        }
    }

    pub fn is_shut_down(&self) -> bool {
        self.alive.is_none()
    }

    /// Bring health tracking, the compiled snapshot and the sockets in line with `config`.
    pub fn apply(&mut self, config: &Config) {
        let Some(alive) = self.alive.clone() else {
            return;
        };
        let now = Instant::now();
        self.groups.retain(|arn, _| config.target_groups.contains_key(arn));
        self.checkers.retain(|arn, _| config.target_groups.contains_key(arn));
        for tg in config.target_groups.values() {
            let group = self
                .groups
                .entry(tg.arn.clone())
                .or_insert_with(|| Arc::new(GroupHealth::new(&tg.arn)))
                .clone();
            let lbs = config.load_balancers_of_target_group(&tg.arn);
            let in_use = !lbs.is_empty();
            if group.reconcile(tg, in_use, now) != Mode::Checking {
                self.checkers.remove(&tg.arn);
                continue;
            }
            let plan = Plan {
                check: tg.health_check.clone(),
                targets: tg.targets.clone(),
                protocol: crate::alb::TargetProtocol::of(tg.protocol_version.as_deref()),
                name: tg.name.as_str().into(),
                logs: self.observers.health_check_logs(config, &lbs),
            };
            match self.checkers.get(&tg.arn) {
                Some(checker) => checker.update(plan),
                None => {
                    let checker = Checker::spawn(group, plan, self.observers.log_sink());
                    self.checkers.insert(tg.arn.clone(), checker);
                }
            }
        }
        self.board.publish(&self.groups);
        let snapshot = Arc::new(Snapshot::compile(config, &self.groups));
        self.alb.publish(snapshot.clone());
        self.packet_filter.apply(&snapshot);
        self.observers.apply(config);
        self.sockets.reconcile(&snapshot, &self.alb, &self.observers, &alive);
    }

    /// Stop accepting and probing; the returned future resolves once every open
    /// connection has finished (they are told to close after their current request).
    pub fn shut_down(&mut self) -> impl Future<Output = ()> + Send + 'static {
        self.alive = None;
        self.checkers.clear();
        self.sockets.close_all();
        self.alb.lot.listener_stopped();
        self.packet_filter.remove();
        let drained = self.drained.take();
        async move {
            if let Some(mut drained) = drained {
                // `recv` returns `None` once every sender (one per connection) is dropped.
                let _ = drained.recv().await;
            }
        }
    }
}
