//! CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities. A listener's
//! default actions appear as its default rule (`IsDefault`, priority `default`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use fulmar_aws::AwsError;
use fulmar_model::{Kind, Listener, Rule};
use fulmar_routing::rules::default_rule_arn;

use super::actions::{self, ActionIn, ActionOut};
use super::conditions::{self, ConditionIn, ConditionOut};
use super::load_balancers::Empty;
use super::{listener_not_found, page, rule_not_found};
use crate::shapes::{merge_tags, TagIn};
use crate::Txn;

/// Rules per load balancer, default rules excluded (the default quota).
const MAX_RULES: usize = 100;

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct RuleOut {
    rule_arn: String,
    priority: String,
    conditions: Vec<ConditionOut>,
    actions: Vec<ActionOut>,
    is_default: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RulesOut {
    rules: Vec<RuleOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
}

fn render(r: &Rule) -> RuleOut {
    RuleOut {
        rule_arn: r.arn.clone(),
        priority: r.priority.to_string(),
        conditions: conditions::render(&r.conditions, &r.legacy_values),
        actions: actions::render(&r.actions),
        is_default: false,
    }
}

fn render_default(l: &Listener) -> RuleOut {
    RuleOut {
        rule_arn: default_rule_arn(&l.arn),
        priority: "default".into(),
        conditions: Vec::new(),
        actions: actions::render(&l.default_actions),
        is_default: true,
    }
}

/// The listener whose default rule has this ARN.
fn default_rule_owner(txn: &Txn, rule_arn: &str) -> Option<Arc<Listener>> {
    let listener_arn = rule_arn.replacen(":listener-rule/", ":listener/", 1);
    let listener_arn = listener_arn.rsplit_once('/')?.0;
    txn.config
        .listeners
        .get(listener_arn)
        .filter(|l| default_rule_arn(&l.arn) == rule_arn)
        .cloned()
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

pub fn create(txn: &mut Txn, input: CreateInput) -> Result<RulesOut, AwsError> {
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
    let out = render(&rule);
    txn.touch(Kind::Rule, &rule.arn);
    txn.config.rules.insert(rule.arn.clone(), Arc::new(rule));
    Ok(RulesOut {
        rules: vec![out],
        next_marker: None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    listener_arn: Option<String>,
    rule_arns: Option<Vec<String>>,
    marker: Option<String>,
    page_size: Option<u32>,
}

pub fn describe(txn: &mut Txn, input: DescribeInput) -> Result<RulesOut, AwsError> {
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
            let listener = txn
                .config
                .listeners
                .get(listener_arn)
                .cloned()
                .ok_or_else(listener_not_found)?;
            let mut rules: Vec<&Arc<Rule>> = txn.config.rules_of(listener_arn).collect();
            rules.sort_by_key(|r| r.priority);
            let mut out: Vec<RuleOut> = rules.into_iter().map(|r| render(r)).collect();
            out.push(render_default(&listener));
            out
        }
        (None, Some(arns)) => {
            let mut out = Vec::new();
            for arn in arns {
                match txn.config.rules.get(&arn) {
                    Some(r) => out.push(render(r)),
                    None => {
                        let listener = default_rule_owner(txn, &arn).ok_or_else(rule_not_found)?;
                        out.push(render_default(&listener));
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

pub fn modify(txn: &mut Txn, input: ModifyInput) -> Result<RulesOut, AwsError> {
    let conditions_given = input.conditions.as_ref().is_some_and(|c| !c.is_empty());
    if let Some(listener) = default_rule_owner(txn, &input.rule_arn) {
        if conditions_given {
            return Err(AwsError::new(
                "OperationNotPermitted",
                400,
                "You cannot modify the conditions of a default rule",
            ));
        }
        let mut l = (*listener).clone();
        if let Some(a) = input.actions.filter(|a| !a.is_empty()) {
            l.default_actions = actions::parse(txn, a, &l.protocol)?;
        }
        let out = render_default(&l);
        txn.touch(Kind::Listener, &l.arn);
        txn.config.listeners.insert(l.arn.clone(), Arc::new(l));
        return Ok(RulesOut {
            rules: vec![out],
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
    let out = render(&r);
    txn.touch(Kind::Rule, &r.arn);
    txn.config.rules.insert(r.arn.clone(), Arc::new(r));
    Ok(RulesOut {
        rules: vec![out],
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

pub fn set_priorities(txn: &mut Txn, input: SetPrioritiesInput) -> Result<RulesOut, AwsError> {
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
    let out: Vec<RuleOut> = changed.iter().map(render).collect();
    for r in changed {
        txn.touch(Kind::Rule, &r.arn);
        txn.config.rules.insert(r.arn.clone(), Arc::new(r));
    }
    Ok(RulesOut {
        rules: out,
        next_marker: None,
    })
}
