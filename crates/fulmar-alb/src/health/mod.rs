//! Target health: what DescribeTargetHealth reports ([`HealthBoard`]) and which
//! targets new requests may go to.
//!
//! Each target group has one [`GroupHealth`], kept across configuration snapshots. It
//! holds a `fulmar_routing::health::Tracker` per registered target (fed by the
//! [`checker`] task of the group), the targets still draining after deregistration, and
//! the *routable* list the request path reads lock-free through an `ArcSwap`:
//!
//! - health checks enabled: the healthy targets; when none is healthy (every target
//!   unhealthy, or every target still `initial` right after registration), all
//!   registered targets — the ALB fails open, so a fresh target group serves at once;
//! - health checks disabled: every registered target;
//! - `instance` targets are not supported yet: nothing is routable (clients get 503).
//!
//! Draining targets are never routable; requests already sent to them finish.

pub(crate) mod checker;
pub(crate) mod group;
mod probe;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use fulmar_model::Target;
use fulmar_routing::health::TargetHealth;

pub(crate) use group::GroupHealth;

/// The health of every target of every target group, as DescribeTargetHealth shows it.
#[derive(Default)]
pub struct HealthBoard {
    groups: Mutex<HashMap<String, Arc<GroupHealth>>>,
}

impl HealthBoard {
    /// What DescribeTargetHealth shows for a registered target of a target group.
    /// A target that is neither registered nor draining is `unused` /
    /// `Target.NotRegistered`.
    pub fn target_health(&self, target_group_arn: &str, target: &Target) -> TargetHealth {
        match self.group(target_group_arn) {
            Some(group) => group.target_health(target),
            None => TargetHealth::not_registered(),
        }
    }

    /// Targets deregistered but still draining (`deregistration_delay.timeout_seconds`,
    /// default 300); their health is `draining` / `Target.DeregistrationInProgress`.
    pub fn draining(&self, target_group_arn: &str) -> Vec<Target> {
        match self.group(target_group_arn) {
            Some(group) => group.draining(),
            None => Vec::new(),
        }
    }

    /// Anomaly detection for a target of a target group: `(anomalous, mitigable)`, the
    /// second true while fewer than half the routable targets are anomalous (when
    /// weighted-random mitigation holds anomalous targets back). `None` when the
    /// group is unknown; a target not routable now is not anomalous.
    pub fn anomaly(&self, target_group_arn: &str, target: &Target) -> Option<(bool, bool)> {
        let routable = self.group(target_group_arn)?.routable();
        let loads: Vec<&fulmar_routing::balance::TargetLoad> = routable.iter().map(|r| &*r.load).collect();
        let flagged = fulmar_routing::balance::anomalous(&loads);
        let count = flagged.iter().filter(|&&a| a).count();
        let anomalous = routable
            .iter()
            .zip(&flagged)
            .any(|(r, &a)| a && r.target.id == target.id && r.target.port == target.port);
        Some((anomalous, count * 2 < routable.len()))
    }

    fn group(&self, arn: &str) -> Option<Arc<GroupHealth>> {
        crate::lock(&self.groups).get(arn).cloned()
    }

    /// Publish the groups of the latest snapshot (called by the data plane's control).
    pub(crate) fn publish(&self, groups: &HashMap<String, Arc<GroupHealth>>) {
        *crate::lock(&self.groups) = groups.clone();
    }
}
