//! Listener-rule evaluation: rules in priority order, first match wins, the
//! listener's default actions last.
//!
//! [`RuleTable::new`] compiles a listener's rules once per configuration snapshot;
//! [`RuleTable::evaluate`] runs per request without allocating unless a
//! query-string condition is reached (the `condition` submodule documents what each condition
//! type compares). Rules sort by priority (ties, which the API forbids, by ARN);
//! within a rule the conditions run cheapest first, which is safe because they are
//! AND'd. Identical conditions are compiled once per listener, and the result of one
//! that several rules share (say one host, many paths) is remembered for the rest of
//! the evaluation (for up to 64 shared conditions). The default rule's ARN is [`default_rule_arn`] of the listener ARN, the
//! same function the control plane uses for DescribeRules.

mod condition;

use std::collections::HashMap;
use std::net::IpAddr;

use fulmar_model::{Action, ActionKind, Condition, FixedResponseConfig, Listener, Rule};
use sha2::{Digest, Sha256};

pub use condition::strip_port;
use condition::{Check, Prepared};

/// What rule matching may look at in a request.
pub struct RequestView<'a> {
    pub method: &'a str,
    /// The Host header (or :authority), possibly with a `:port` suffix.
    pub host: Option<&'a str>,
    /// The path, without the query, exactly as received (not decoded).
    pub path: &'a str,
    /// The raw query string without the `?`, if any.
    pub query: Option<&'a str>,
    /// All request headers, in order, names as received.
    pub headers: &'a [(&'a str, &'a str)],
    /// The connection's source address.
    pub source_ip: IpAddr,
}

/// One listener's rules, compiled and sorted by priority, ready to match requests.
#[derive(Debug, Clone)]
pub struct RuleTable {
    rules: Box<[CompiledRule]>,
    default_arn: String,
    default_action: Action,
    /// Whether some rule has an http-header condition (so the caller must list headers).
    reads_headers: bool,
    /// Rules that can only match a few exact hosts, by host (see [`HostIndex`]).
    hosts: Option<HostIndex>,
}

/// Rules gated by a host-header condition whose values are all literal (no wildcard)
/// can only match a request whose host is one of those values, compared ASCII
/// case-insensitively. The index lists them by lowercased host, so a request skips
/// every gated rule of other hosts; rules without such a condition are always tried.
/// Rules are still tried in priority order (both lists are sorted by rule position).
#[derive(Debug, Clone)]
struct HostIndex {
    /// Positions (in `RuleTable::rules`) of the rules every request must try.
    ungated: Box<[u32]>,
    /// Positions of the gated rules, by lowercased literal host.
    gated: HashMap<Box<[u8]>, Box<[u32]>>,
}

/// Hosts longer than this skip the index (every rule is tried, as without it).
const MAX_INDEXED_HOST: usize = 255;
/// Below this many gated rules the index is not worth a lookup.
const MIN_GATED_RULES: usize = 4;

impl HostIndex {
    fn new(rules: &[CompiledRule]) -> Option<HostIndex> {
        let mut ungated = Vec::new();
        let mut gated: HashMap<Box<[u8]>, Vec<u32>> = HashMap::new();
        let mut gated_rules = 0;
        for (i, rule) in rules.iter().enumerate() {
            let i = u32::try_from(i).ok()?;
            let literal_hosts = rule.checks.iter().find_map(|c| match &c.check {
                Check::Host(patterns) if !patterns.is_empty() && patterns.iter().all(|p| p.is_literal()) => {
                    Some(patterns)
                }
                _ => None,
            });
            match literal_hosts {
                Some(patterns) => {
                    gated_rules += 1;
                    for p in patterns.iter() {
                        let key: Box<[u8]> = p.as_str().to_ascii_lowercase().into_bytes().into();
                        let list = gated.entry(key).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
                None => ungated.push(i),
            }
        }
        (gated_rules >= MIN_GATED_RULES).then(|| HostIndex {
            ungated: ungated.into(),
            gated: gated.into_iter().map(|(k, v)| (k, v.into())).collect(),
        })
    }

    /// The gated rules `host` (port already stripped) may match; `None`: try every rule.
    fn candidates(&self, host: Option<&str>) -> Option<&[u32]> {
        let Some(host) = host else {
            return Some(&[]); // no Host: no host-header condition matches
        };
        if host.len() > MAX_INDEXED_HOST {
            return None;
        }
        let mut buf = [0u8; MAX_INDEXED_HOST];
        let key = &mut buf[..host.len()];
        key.copy_from_slice(host.as_bytes());
        key.make_ascii_lowercase();
        Some(self.gated.get(&*key).map_or(&[], |v| &**v))
    }
}

#[derive(Debug, Clone)]
struct CompiledRule {
    priority: u32,
    arn: String,
    /// Cheapest check first.
    checks: Box<[CheckRef]>,
    action: Action,
}

/// The outcome of evaluating a [`RuleTable`].
#[derive(Debug)]
pub struct Matched<'a> {
    /// The matched rule's priority; `None` for the default rule.
    pub priority: Option<u32>,
    /// The matched rule's ARN (the listener's ARN-derived default rule ARN for the default).
    pub rule_arn: &'a str,
    /// The terminal action (forward, redirect or fixed-response): the last by `Order`.
    pub action: &'a Action,
}

impl RuleTable {
    /// Build the table for `listener` from its `rules` (any order).
    ///
    /// The caller passes only this listener's rules. A rule without actions (which
    /// the API never stores) is skipped; a listener without default actions answers
    /// with a plain 503 fixed response, as an ALB does when it has nowhere to route.
    pub fn new<'r>(listener: &Listener, rules: impl IntoIterator<Item = &'r Rule>) -> RuleTable {
        let mut distinct: Vec<Check> = Vec::new();
        let mut kept: Vec<(&Rule, Action, Vec<usize>)> = Vec::new();
        for rule in rules {
            let Some(action) = terminal_action(&rule.actions) else {
                continue;
            };
            let mut ids: Vec<usize> = rule
                .conditions
                .iter()
                .map(|c| intern(&mut distinct, Check::new(c)))
                .collect();
            ids.sort_by_key(|&id| distinct[id].cost());
            kept.push((rule, action.clone(), ids));
        }
        let id_lists: Vec<Vec<usize>> = kept.iter().map(|(_, _, ids)| ids.clone()).collect();
        let memo = memo_bits(&id_lists, &distinct);
        let mut compiled: Vec<CompiledRule> = kept
            .into_iter()
            .map(|(rule, action, ids)| CompiledRule {
                priority: rule.priority,
                arn: rule.arn.clone(),
                checks: ids
                    .into_iter()
                    .map(|id| CheckRef {
                        check: distinct[id].clone(),
                        memo: memo[id],
                    })
                    .collect(),
                action,
            })
            .collect();
        compiled.sort_by(|a, b| a.priority.cmp(&b.priority).then_with(|| a.arn.cmp(&b.arn)));
        let default_action = terminal_action(&listener.default_actions)
            .cloned()
            .unwrap_or_else(no_route_action);
        let reads_headers = compiled
            .iter()
            .flat_map(|r| r.checks.iter())
            .any(|c| matches!(c.check, Check::Header { .. }));
        let hosts = HostIndex::new(&compiled);
        RuleTable {
            reads_headers,
            hosts,
            rules: compiled.into(),
            default_arn: default_rule_arn(&listener.arn),
            default_action,
        }
    }

    /// The first rule (lowest priority number) whose conditions all match, else the default.
    pub fn evaluate(&self, req: &RequestView<'_>) -> Matched<'_> {
        let prepared = Prepared::new(req);
        // Results of shared checks so far: which are known, and which of those matched.
        let (mut known, mut hit) = (0u64, 0u64);
        let mut try_rule = |rule: &CompiledRule| {
            rule.checks.iter().all(|r| {
                if r.memo == 0 {
                    return r.check.matches(&prepared);
                }
                if known & r.memo != 0 {
                    return hit & r.memo != 0;
                }
                let matched = r.check.matches(&prepared);
                known |= r.memo;
                if matched {
                    hit |= r.memo;
                }
                matched
            })
        };
        let found = match self
            .hosts
            .as_ref()
            .and_then(|index| Some((index, index.candidates(prepared.host())?)))
        {
            // Merge the two sorted position lists: rules stay in priority order.
            Some((index, gated)) => {
                let (mut a, mut b) = (index.ungated.iter().peekable(), gated.iter().peekable());
                let mut found = None;
                loop {
                    let next = match (a.peek(), b.peek()) {
                        (Some(&&x), Some(&&y)) if x < y => a.next(),
                        (Some(_), Some(_)) => b.next(),
                        (Some(_), None) => a.next(),
                        (None, Some(_)) => b.next(),
                        (None, None) => break,
                    };
                    let rule = &self.rules[*next.expect("peeked") as usize];
                    if try_rule(rule) {
                        found = Some(rule);
                        break;
                    }
                }
                found
            }
            None => self.rules.iter().find(|rule| try_rule(rule)),
        };
        match found {
            Some(rule) => Matched {
                priority: Some(rule.priority),
                rule_arn: &rule.arn,
                action: &rule.action,
            },
            None => Matched {
                priority: None,
                rule_arn: &self.default_arn,
                action: &self.default_action,
            },
        }
    }

    /// The number of non-default rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the listener has only its default rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether evaluation looks at [`RequestView::headers`]: when `false`, callers may
    /// pass an empty list and save collecting the request's headers.
    pub fn reads_headers(&self) -> bool {
        self.reads_headers
    }

    /// The ARN of the listener's default rule.
    pub fn default_rule_arn(&self) -> &str {
        &self.default_arn
    }
}

/// Whether one condition matches (values OR'd).
///
/// This compiles the condition on each call; the data plane uses [`RuleTable`].
pub fn condition_matches(condition: &Condition, req: &RequestView<'_>) -> bool {
    Check::new(condition).matches(&Prepared::new(req))
}

/// The terminal action of a rule: the last when ordered by `Order`. An action without
/// `Order` counts as its 1-based position in the list (what AWS assigns when none is
/// given); among equal orders the later one in the list wins. `None` for no actions.
pub fn terminal_action(actions: &[Action]) -> Option<&Action> {
    actions
        .iter()
        .enumerate()
        .max_by_key(|(i, a)| (a.order.unwrap_or(*i as u32 + 1), *i))
        .map(|(_, a)| a)
}

/// The default rule's ARN: the listener ARN with `:listener/` replaced by
/// `:listener-rule/`, plus `/` and 16 hex digits taken from a SHA-256 of the listener
/// ARN, so it is stable across restarts and identical in the control and data planes.
pub fn default_rule_arn(listener_arn: &str) -> String {
    let digest = Sha256::digest(listener_arn.as_bytes());
    let mut arn = listener_arn.replacen(":listener/", ":listener-rule/", 1);
    arn.push('/');
    for b in &digest[..8] {
        arn.push(char::from(HEX[usize::from(b >> 4)]));
        arn.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    arn
}

/// The index of `check` in `distinct`, appending it when new.
fn intern(distinct: &mut Vec<Check>, check: Check) -> usize {
    match distinct.iter().position(|c| *c == check) {
        Some(id) => id,
        None => {
            distinct.push(check);
            distinct.len() - 1
        }
    }
}

/// One check of a rule (a copy, kept inline for locality) and its memo bit.
#[derive(Debug, Clone)]
struct CheckRef {
    check: Check,
    /// A single bit when the check is shared by several rules and worth remembering
    /// for the rest of the evaluation (up to 64 such checks); 0 otherwise.
    memo: u64,
}

/// Give a memo bit to each costly check used by more than one rule.
fn memo_bits(rules: &[Vec<usize>], checks: &[Check]) -> Vec<u64> {
    let mut uses = vec![0usize; checks.len()];
    for id in rules.iter().flatten() {
        uses[*id] += 1;
    }
    let mut next = 0u32;
    uses.iter()
        .zip(checks)
        .map(|(&n, check)| {
            if n < 2 || check.cost() < Check::Host(Box::new([])).cost() || next >= 64 {
                return 0;
            }
            next += 1;
            1u64 << (next - 1)
        })
        .collect()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn no_route_action() -> Action {
    Action {
        order: None,
        kind: ActionKind::FixedResponse(FixedResponseConfig {
            status_code: "503".into(),
            content_type: Some("text/plain".into()),
            message_body: None,
        }),
    }
}

#[cfg(test)]
mod tests;
