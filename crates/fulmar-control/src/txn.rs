//! A transactional view of the configuration: operations read and change a private
//! copy, and every change is recorded so the caller can commit exactly the touched
//! documents. The copy is O(1) (`Config`'s maps are persistent) and a change to it
//! copies only the tree nodes on the changed key's path, so a call costs what it
//! changes, not the size of the configuration; dropping the copy discards the call.

use std::collections::BTreeSet;
use std::sync::Arc;

use fulmar_model::{Config, Kind};

use crate::{HealthView, Settings};

pub struct Txn<'a> {
    pub config: Config,
    dirty: BTreeSet<(Kind, String)>,
    pub region: String,
    pub settings: &'a Settings,
    pub health: Option<Arc<dyn HealthView>>,
    /// Set for a read answered off the last published configuration, whose changes are
    /// thrown away (the call is then rerun as a write): an operation may only mark what
    /// it would change and skip costly work (ACM key generation).
    pub read_only: bool,
}

impl<'a> Txn<'a> {
    pub fn new(config: Config, region: &str, settings: &'a Settings, health: Option<Arc<dyn HealthView>>) -> Txn<'a> {
        Txn {
            config,
            dirty: BTreeSet::new(),
            region: region.to_string(),
            settings,
            health,
            read_only: false,
        }
    }

    /// Record that the resource `id` of `kind` was created, changed or removed.
    pub fn touch(&mut self, kind: Kind, id: &str) {
        self.dirty.insert((kind, id.to_string()));
    }

    pub fn account(&self) -> &str {
        &self.settings.account_id
    }

    /// The ARN prefix of this region and account for a service.
    pub fn arn_prefix(&self, service: &str) -> String {
        format!("arn:aws:{service}:{}:{}:", self.region, self.settings.account_id)
    }

    /// The ARN of a new child resource: `<prefix><child>/<parent's path after parent_marker>/<16 hex>`,
    /// e.g. a listener (`listener/app/<lb name>/<lb id>/<id>`) or a rule (`listener-rule/app/.../<id>`).
    pub fn child_arn(&self, parent_arn: &str, parent_marker: &str, child: &str) -> String {
        let path = parent_arn.split_once(parent_marker).map_or("", |(_, p)| p);
        format!(
            "{}{child}/{path}/{}",
            self.arn_prefix("elasticloadbalancing"),
            crate::ids::hex(16)
        )
    }

    /// Whether an ARN belongs to the calling region and account.
    pub fn owns_arn(&self, arn: &str) -> bool {
        let mut parts = arn.splitn(6, ':');
        let _ = (parts.next(), parts.next(), parts.next());
        parts.next() == Some(self.region.as_str()) && parts.next() == Some(self.settings.account_id.as_str())
    }

    pub fn finish(self) -> (Config, BTreeSet<(Kind, String)>) {
        (self.config, self.dirty)
    }
}
