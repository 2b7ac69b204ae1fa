//! CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities. A listener's
//! default actions appear as its default rule (`IsDefault`, priority `default`).

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, Listener, Rule};
use fulmar_routing::rules::default_rule_arn;

use super::actions::{self, ActionIn, ActionOut};
use super::conditions::{self, ConditionIn, ConditionOut};
use super::load_balancers::Empty;
use super::{listener_not_found, page, rule_not_found, xmlw};
use crate::shapes::{merge_tags, TagIn};
use crate::Txn;

/// Rules per load balancer, default rules excluded (the default quota).
const MAX_RULES: usize = 100;

/// A rule as the API shows it, borrowing from the stored rule (or listener, for a
/// default rule): DescribeRules writes a listener's rules out without copying them.
#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct RuleOut<'a> {
    rule_arn: Cow<'a, str>,
    priority: Cow<'a, str>,
    conditions: Vec<ConditionOut<'a>>,
    actions: Vec<ActionOut<'a>>,
    is_default: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RulesOut<'a> {
    rules: Vec<RuleOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

impl RulesOut<'_> {
    /// Roughly the bytes [`RulesOut::write_xml`] writes.
    pub fn size_hint(&self) -> usize {
        self.rules.len() * 768
    }

    /// What serializing this as the Query protocol writes, written directly.
    pub fn write_xml(&self, out: &mut String) {
        xmlw::list(out, "Rules", &self.rules, |out, r| {
            xmlw::text(out, "RuleArn", &r.rule_arn);
            xmlw::text(out, "Priority", &r.priority);
            xmlw::list(out, "Conditions", &r.conditions, |out, c| c.write_xml(out));
            xmlw::list(out, "Actions", &r.actions, |out, a| a.write_xml(out));
            xmlw::value(out, "IsDefault", r.is_default);
        });
        if let Some(marker) = &self.next_marker {
            xmlw::text(out, "NextMarker", marker);
        }
    }
}

fn render(r: &Rule) -> RuleOut<'_> {
    RuleOut {
        rule_arn: Cow::Borrowed(&r.arn),
        priority: Cow::Owned(r.priority.to_string()),
        conditions: conditions::render(&r.conditions, &r.legacy_values),
        actions: actions::render(&r.actions),
        is_default: false,
    }
}

fn render_default(l: &Listener) -> RuleOut<'_> {
    RuleOut {
        rule_arn: Cow::Owned(default_rule_arn(&l.arn)),
        priority: Cow::Borrowed("default"),
        conditions: Vec::new(),
        actions: actions::render(&l.default_actions),
        is_default: true,
    }
}

/// The listener whose default rule has this ARN.
fn default_rule_owner<'t>(txn: &'t Txn, rule_arn: &str) -> Option<&'t Arc<Listener>> {
    let listener_arn = rule_arn.replacen(":listener-rule/", ":listener/", 1);
    let listener_arn = listener_arn.rsplit_once('/')?.0;
    txn.config
        .listeners
        .get(listener_arn)
        .filter(|l| default_rule_arn(&l.arn) == rule_arn)
}

fn check_priority(p: u32) -> Result<(), AwsError> {
    if (1..=50000).contains(&p) {
        Ok(())
    } else {
        Err(AwsError::validation(format!(
            "1 validation error detected: Value '{p}' at 'priority' failed to satisfy constraint: Member must have value {} {}",
            if p < 1 { "greater than or equal to" } else { "less than or equal to" },
            if p < 1 { 1 } else { 50000 }
        )))
    }
}

fn priority_in_use() -> AwsError {
    AwsError::new("PriorityInUse", 400, "The specified priority is in use.")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    listener_arn: String,
    priority: u32,
    #[serde(default)]
    conditions: Vec<ConditionIn>,
    #[serde(default)]
    actions: Vec<ActionIn>,
    #[serde(default)]
    tags: Vec<TagIn>,
}

pub fn create<'t>(txn: &'t mut Txn, input: CreateInput) -> Result<RulesOut<'t>, AwsError> {
    let listener = txn
        .config
        .listeners
        .get(&input.listener_arn)
        .cloned()
        .ok_or_else(listener_not_found)?;
    check_priority(input.priority)?;
    let (conditions, legacy_values): (Vec<_>, Vec<_>) = conditions::parse(input.conditions)?.into_iter().unzip();
    // botocore sends an empty list as `Conditions=`; AWS requires at least one condition.
    if conditions.is_empty() {
        return Err(AwsError::validation("A rule must have at least one condition"));
    }
    let actions = actions::parse(txn, input.actions, &listener.protocol)?;
    if txn.config.rules_of(&listener.arn).any(|r| r.priority == input.priority) {
        return Err(priority_in_use());
    }
    let lb_rules = txn
        .config
        .listeners_of(&listener.load_balancer_arn)
        .map(|l| txn.config.rules_of(&l.arn).count())
        .sum::<usize>();
    if lb_rules >= MAX_RULES {
        return Err(AwsError::new(
            "TooManyRules",
            400,
            "You've reached the limit on the number of rules per load balancer",
        ));
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags)?;
    let rule = Rule {
        arn: txn.child_arn(&listener.arn, ":listener/", "listener-rule"),
        listener_arn: listener.arn.clone(),
        priority: input.priority,
        conditions,
        actions,
        tags,
        legacy_values,
    };
    txn.touch(Kind::Rule, &rule.arn);
    let rule = Arc::new(rule);
    txn.config.rules.insert(rule.arn.clone(), rule.clone());
    Ok(RulesOut {
        rules: vec![render(stored_rule(txn, &rule.arn))],
        next_marker: None,
    })
}

/// A rule the operation has just stored (what its answer shows, borrowed from the copy).
fn stored_rule<'t>(txn: &'t Txn, arn: &str) -> &'t Rule {
    txn.config.rules.get(arn).expect("the rule was just stored")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    listener_arn: Option<String>,
    rule_arns: Option<Vec<String>>,
    marker: Option<String>,
    page_size: Option<u32>,
}

pub fn describe<'t>(txn: &'t mut Txn, input: DescribeInput) -> Result<RulesOut<'t>, AwsError> {
    let txn: &Txn = txn;
    let arns = input.rule_arns.filter(|v| !v.is_empty());
    let rendered: Vec<RuleOut> = match (&input.listener_arn, arns) {
        (Some(_), Some(_)) => {
            return Err(AwsError::validation(
                "Listener ARN and rule ARNs cannot be specified at the same time",
            ))
        }
        (None, None) => {
            return Err(AwsError::validation(
                "You must specify either listener ARN or rule ARNs",
            ))
        }
        (Some(listener_arn), None) => {
            let listener = txn.config.listeners.get(listener_arn).ok_or_else(listener_not_found)?;
            let mut rules: Vec<&Arc<Rule>> = txn.config.rules_of(&listener.arn).collect();
            rules.sort_by_key(|r| r.priority);
            let mut out: Vec<RuleOut> = Vec::with_capacity(rules.len() + 1);
            out.extend(rules.into_iter().map(|r| render(r)));
            out.push(render_default(listener));
            out
        }
        (None, Some(arns)) => {
            let mut out = Vec::new();
            for arn in arns {
                match txn.config.rules.get(&arn) {
                    Some(r) => out.push(render(r)),
                    None => {
                        let listener = default_rule_owner(txn, &arn).ok_or_else(rule_not_found)?;
                        out.push(render_default(listener));
                    }
                }
            }
            out
        }
    };
    let (rules, next_marker) = page(rendered, input.marker.as_deref(), input.page_size)?;
    Ok(RulesOut { rules, next_marker })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyInput {
    rule_arn: String,
    conditions: Option<Vec<ConditionIn>>,
    actions: Option<Vec<ActionIn>>,
}

pub fn modify<'t>(txn: &'t mut Txn, input: ModifyInput) -> Result<RulesOut<'t>, AwsError> {
    let conditions_given = input.conditions.as_ref().is_some_and(|c| !c.is_empty());
    if let Some(listener) = default_rule_owner(txn, &input.rule_arn) {
        if conditions_given {
            return Err(AwsError::new(
                "OperationNotPermitted",
                400,
                "You cannot modify the conditions of a default rule",
            ));
        }
        let mut l = (**listener).clone();
        if let Some(a) = input.actions.filter(|a| !a.is_empty()) {
            l.default_actions = actions::parse(txn, a, &l.protocol)?;
        }
        txn.touch(Kind::Listener, &l.arn);
        let arn = l.arn.clone();
        txn.config.listeners.insert(arn.clone(), Arc::new(l));
        let stored = txn.config.listeners.get(&arn).expect("the listener was just stored");
        return Ok(RulesOut {
            rules: vec![render_default(stored)],
            next_marker: None,
        });
    }
    let rule = txn
        .config
        .rules
        .get(&input.rule_arn)
        .cloned()
        .ok_or_else(rule_not_found)?;
    let protocol = txn
        .config
        .listeners
        .get(&rule.listener_arn)
        .map(|l| l.protocol.clone())
        .unwrap_or_else(|| "HTTP".into());
    let mut r = (*rule).clone();
    if let Some(c) = input.conditions.filter(|c| !c.is_empty()) {
        (r.conditions, r.legacy_values) = conditions::parse(c)?.into_iter().unzip();
    }
    if let Some(a) = input.actions.filter(|a| !a.is_empty()) {
        r.actions = actions::parse(txn, a, &protocol)?;
    }
    txn.touch(Kind::Rule, &r.arn);
    let arn = r.arn.clone();
    txn.config.rules.insert(arn.clone(), Arc::new(r));
    Ok(RulesOut {
        rules: vec![render(stored_rule(txn, &arn))],
        next_marker: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    rule_arn: String,
}

pub fn delete(txn: &mut Txn, input: DeleteInput) -> Result<Empty, AwsError> {
    if default_rule_owner(txn, &input.rule_arn).is_some() {
        return Err(AwsError::new(
            "OperationNotPermitted",
            400,
            format!("Default rule '{}' cannot be deleted", input.rule_arn),
        ));
    }
    if txn.config.rules.remove(&input.rule_arn).is_none() {
        return Err(rule_not_found());
    }
    txn.touch(Kind::Rule, &input.rule_arn);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PriorityIn {
    rule_arn: String,
    priority: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetPrioritiesInput {
    #[serde(default)]
    rule_priorities: Vec<PriorityIn>,
}

pub fn set_priorities<'t>(txn: &'t mut Txn, input: SetPrioritiesInput) -> Result<RulesOut<'t>, AwsError> {
    let mut changed: Vec<Rule> = Vec::new();
    for p in &input.rule_priorities {
        if default_rule_owner(txn, &p.rule_arn).is_some() {
            return Err(AwsError::new(
                "OperationNotPermitted",
                400,
                "The priority of a default rule cannot be changed",
            ));
        }
        check_priority(p.priority)?;
        let mut r = (**txn.config.rules.get(&p.rule_arn).ok_or_else(rule_not_found)?).clone();
        r.priority = p.priority;
        changed.push(r);
    }
    // The new priorities must be unique per listener, counting the rules left as they are.
    for r in &changed {
        let clash = txn.config.rules_of(&r.listener_arn).any(|o| {
            let o_priority = changed
                .iter()
                .find(|c| c.arn == o.arn)
                .map_or(o.priority, |c| c.priority);
            o.arn != r.arn && o_priority == r.priority
        });
        if clash {
            return Err(priority_in_use());
        }
    }
    let arns: Vec<String> = changed.iter().map(|r| r.arn.clone()).collect();
    for r in changed {
        txn.touch(Kind::Rule, &r.arn);
        txn.config.rules.insert(r.arn.clone(), Arc::new(r));
    }
    let txn: &Txn = txn;
    Ok(RulesOut {
        rules: arns.iter().map(|arn| render(stored_rule(txn, arn))).collect(),
        next_marker: None,
    })
}
