//! Listener-rule evaluation: rules in priority order, first match wins, the
//! listener's default actions last.

use std::net::IpAddr;

use fulmar_model::{Action, Condition, Listener, Rule};

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
    // implementation-defined
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
    pub fn new<'r>(listener: &Listener, rules: impl IntoIterator<Item = &'r Rule>) -> RuleTable {
        todo!()
    }

    /// The first rule (lowest priority number) whose conditions all match, else the default.
    pub fn evaluate(&self, req: &RequestView<'_>) -> Matched<'_> {
        todo!()
    }
}

/// Whether one condition matches (values OR'd).
pub fn condition_matches(condition: &Condition, req: &RequestView<'_>) -> bool {
    todo!()
}
