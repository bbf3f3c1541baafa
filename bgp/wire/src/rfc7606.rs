//! RFC 7606 revised error handling: the verdict an UPDATE decode returns.
//!
//! Every malformed or unwelcome attribute produces a [`Finding`] with an [`Action`]; the
//! [`Verdict`] carries the strongest action, every finding, what it applies to and, when the
//! session must be reset, the NOTIFICATION to send. The ordering of [`Action`] is the RFC's
//! severity order: attribute discard < treat-as-withdraw < AFI/SAFI disable < session reset.

use serde::{Serialize, Serializer};

use crate::notification::{code, update_error, Notification};
use crate::types::AfiSafi;

/// What to do about an error (RFC 7606 §2), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Drop the attribute, use the rest of the UPDATE.
    Discard,
    /// Handle every NLRI of the UPDATE as withdrawn; use no attribute.
    TreatAsWithdraw,
    /// Disable the address family for the session (or reset it, RFC 7606 §5.3).
    AfiSafiDisable,
    /// Reset the session with a NOTIFICATION.
    SessionReset,
}

/// One error found in an UPDATE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The attribute type code, when the error is in an attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<u8>,
    /// The action the RFC prescribes for it.
    pub action: Action,
    /// UPDATE Message Error subcode (RFC 4271 §6.3) the error maps to.
    pub subcode: u8,
    /// What is wrong.
    pub reason: &'static str,
    /// Offset of the offending field within the UPDATE body (after the 19-byte header).
    pub offset: usize,
}

/// A route of the UPDATE's MP_REACH that is handled as withdrawn on its own (the RFC 9136
/// type-5 checks), while the rest of the UPDATE stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteFinding {
    /// Index into the MP_REACH NLRI list.
    pub index: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// An EVPN route of a type this crate does not model, skipped (RFC 7606 §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SkippedRoute {
    /// The route type.
    pub route_type: u8,
    /// Its length.
    pub length: u8,
    /// In MP_REACH (true) or MP_UNREACH (false).
    pub reach: bool,
}

/// The RFC 7606 outcome of decoding one UPDATE.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Verdict {
    /// The strongest action, `None` when the UPDATE is clean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Every finding, in the order found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Families to disable (action [`Action::AfiSafiDisable`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<AfiSafi>,
    /// MP_REACH routes handled as withdrawn individually.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withdrawn_routes: Vec<RouteFinding>,
    /// Skipped EVPN routes of unknown type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedRoute>,
    /// The NOTIFICATION to send when the session is reset (also set for AFI/SAFI disable, for
    /// a speaker that resets instead of disabling).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "notif_opt")]
    pub notification: Option<Notification>,
    /// Subcode and data (the offending attribute) of the first finding of the strongest
    /// action, for the NOTIFICATION an escalation (RFC 7606 §5.2) sends: RFC 4271 §6.3 puts
    /// the erroneous attribute in the Data field, and a treat-as-withdraw finding has no
    /// `notification` of its own to take it from.
    #[serde(skip)]
    deciding: Option<(u8, Vec<u8>)>,
}

fn notif_opt<S: Serializer>(n: &Option<Notification>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => s.collect_str(&format_args!("{n} data {}", hex_string(&n.data))),
        None => s.serialize_none(),
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Verdict {
    /// No findings at all.
    pub fn is_clean(&self) -> bool {
        self.action.is_none() && self.withdrawn_routes.is_empty()
    }

    /// Whether every NLRI of the UPDATE is to be handled as withdrawn (or worse).
    pub fn withdraw_all(&self) -> bool {
        self.action >= Some(Action::TreatAsWithdraw)
    }

    /// Whether the session must be reset.
    pub fn is_reset(&self) -> bool {
        self.action == Some(Action::SessionReset)
    }

    /// Whether MP_REACH route `index` is to be handled as withdrawn.
    pub fn route_withdrawn(&self, index: usize) -> bool {
        self.withdraw_all() || self.withdrawn_routes.iter().any(|r| r.index == index)
    }

    /// Records a finding. `data` is what a NOTIFICATION for it would carry (the attribute).
    pub(crate) fn add(&mut self, f: Finding, data: &[u8]) {
        let stronger = Some(f.action) > self.action;
        if stronger {
            self.action = Some(f.action);
            self.deciding = Some((f.subcode, data.to_vec()));
        }
        if f.action >= Action::AfiSafiDisable && (stronger || self.notification.is_none()) {
            self.notification = Some(Notification::new(code::UPDATE, f.subcode, data.to_vec()));
        }
        self.findings.push(f);
    }

    /// Escalates to a session reset (RFC 7606 §5.2 and others).
    pub(crate) fn escalate(&mut self, reason: &'static str, offset: usize) {
        // The NOTIFICATION is that of the finding that decided the verdict (the first of the
        // strongest action) with its attribute as data. (Fix: the subcode used to come from
        // the *last* strongest finding and the data was always empty for treat-as-withdraw.)
        let (subcode, data) = match (&self.notification, &self.deciding) {
            (Some(n), _) => (n.subcode, n.data.clone()),
            (None, Some((subcode, data))) => (*subcode, data.clone()),
            (None, None) => (update_error::MALFORMED_ATTRIBUTE_LIST, Vec::new()),
        };
        self.action = Some(Action::SessionReset);
        self.notification = Some(Notification::new(code::UPDATE, subcode, data));
        self.findings.push(Finding {
            attribute: None,
            action: Action::SessionReset,
            subcode,
            reason,
            offset,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_action_wins_and_notification_follows() {
        let mut v = Verdict::default();
        assert!(v.is_clean());
        let f = |action, subcode| Finding {
            attribute: Some(1),
            action,
            subcode,
            reason: "x",
            offset: 0,
        };
        v.add(f(Action::Discard, 5), &[]);
        assert_eq!(v.action, Some(Action::Discard));
        assert!(v.notification.is_none());
        v.add(f(Action::SessionReset, 1), &[0x80, 0x0e, 0]);
        v.add(f(Action::TreatAsWithdraw, 6), &[]);
        assert_eq!(v.action, Some(Action::SessionReset));
        assert_eq!(
            v.notification,
            Some(Notification::new(3, 1, vec![0x80, 0x0e, 0]))
        );
        assert!(Action::Discard < Action::TreatAsWithdraw);
        assert!(Action::AfiSafiDisable < Action::SessionReset);
    }
}
