//! NOTIFICATION (RFC 4271 §4.5) with the codes and subcodes of later RFCs, RFC 9003 shutdown
//! communication and RFC 8538 hard reset.

use serde::Serialize;

use crate::parse::{DecodeError, ErrorKind};

/// Error codes.
pub mod code {
    /// Message Header Error.
    pub const MESSAGE_HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error (RFC 6608).
    pub const FSM: u8 = 5;
    /// Cease (RFC 4486).
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
    /// Send Hold Timer Expired (RFC 9687).
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Message Header Error subcodes.
pub mod header_error {
    /// Connection Not Synchronized.
    pub const NOT_SYNCHRONIZED: u8 = 1;
    /// Bad Message Length (data: the length).
    pub const BAD_LENGTH: u8 = 2;
    /// Bad Message Type (data: the type).
    pub const BAD_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes.
pub mod open_error {
    /// Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;
}

/// UPDATE Message Error subcodes.
pub mod update_error {
    /// Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    /// Attribute Length Error.
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    /// Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    /// Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Cease subcodes.
pub mod cease {
    /// Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// Administrative Shutdown (RFC 9003 text).
    pub const ADMIN_SHUTDOWN: u8 = 2;
    /// Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Administrative Reset (RFC 9003 text).
    pub const ADMIN_RESET: u8 = 4;
    /// Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Other Configuration Change.
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    /// Connection Collision Resolution.
    pub const COLLISION: u8 = 7;
    /// Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// Hard Reset (RFC 8538; data: the inner code, subcode and data).
    pub const HARD_RESET: u8 = 9;
    /// BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;
}

/// A NOTIFICATION message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: Vec<u8>,
}

impl Notification {
    /// Builds a NOTIFICATION.
    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Notification {
        Notification {
            code,
            subcode,
            data,
        }
    }

    /// Cease / Administrative Shutdown or Reset with an RFC 9003 message (truncated on a
    /// character boundary to 255 octets).
    pub fn shutdown(subcode: u8, message: &str) -> Notification {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        let text = message.get(..end).unwrap_or("");
        let mut data = Vec::with_capacity(text.len().saturating_add(1));
        data.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
        data.extend_from_slice(text.as_bytes());
        Notification::new(code::CEASE, subcode, data)
    }

    /// Cease / Hard Reset wrapping `inner` (RFC 8538 §3).
    pub fn hard_reset(inner: &Notification) -> Notification {
        let mut data = vec![inner.code, inner.subcode];
        data.extend_from_slice(&inner.data);
        Notification::new(code::CEASE, cease::HARD_RESET, data)
    }

    /// The RFC 9003 shutdown communication of a Cease/2 or Cease/4, if well formed.
    pub fn shutdown_message(&self) -> Option<Result<String, DecodeError>> {
        if self.code != code::CEASE
            || !(self.subcode == cease::ADMIN_SHUTDOWN || self.subcode == cease::ADMIN_RESET)
        {
            return None;
        }
        let (len, text) = self.data.split_first()?;
        let len = usize::from(*len);
        if len > text.len() {
            return Some(Err(DecodeError::new(
                1,
                "shutdown communication",
                ErrorKind::Truncated,
            )));
        }
        let Some(bytes) = text.get(..len) else {
            return Some(Err(DecodeError::new(
                1,
                "shutdown communication",
                ErrorKind::Truncated,
            )));
        };
        Some(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| DecodeError::new(1, "shutdown communication", ErrorKind::Invalid)),
        )
    }

    /// The NOTIFICATION wrapped by a Cease/Hard Reset (RFC 8538), if this is one.
    pub fn hard_reset_inner(&self) -> Option<Result<Notification, DecodeError>> {
        if self.code != code::CEASE || self.subcode != cease::HARD_RESET {
            return None;
        }
        match self.data.as_slice() {
            [code, subcode, rest @ ..] => {
                Some(Ok(Notification::new(*code, *subcode, rest.to_vec())))
            }
            _ => Some(Err(DecodeError::new(0, "hard reset", ErrorKind::Truncated))),
        }
    }

    /// Human-readable code name.
    pub fn code_name(&self) -> &'static str {
        match self.code {
            code::MESSAGE_HEADER => "Message Header Error",
            code::OPEN => "OPEN Message Error",
            code::UPDATE => "UPDATE Message Error",
            code::HOLD_TIMER_EXPIRED => "Hold Timer Expired",
            code::FSM => "Finite State Machine Error",
            code::CEASE => "Cease",
            code::ROUTE_REFRESH => "ROUTE-REFRESH Message Error",
            code::SEND_HOLD_TIMER_EXPIRED => "Send Hold Timer Expired",
            _ => "Unknown",
        }
    }

    /// Human-readable subcode name.
    pub fn subcode_name(&self) -> &'static str {
        match (self.code, self.subcode) {
            (code::MESSAGE_HEADER, 1) => "Connection Not Synchronized",
            (code::MESSAGE_HEADER, 2) => "Bad Message Length",
            (code::MESSAGE_HEADER, 3) => "Bad Message Type",
            (code::OPEN, 0) => "Unspecific",
            (code::OPEN, 1) => "Unsupported Version Number",
            (code::OPEN, 2) => "Bad Peer AS",
            (code::OPEN, 3) => "Bad BGP Identifier",
            (code::OPEN, 4) => "Unsupported Optional Parameter",
            (code::OPEN, 6) => "Unacceptable Hold Time",
            (code::OPEN, 7) => "Unsupported Capability",
            (code::OPEN, 11) => "Role Mismatch",
            (code::UPDATE, 1) => "Malformed Attribute List",
            (code::UPDATE, 2) => "Unrecognized Well-known Attribute",
            (code::UPDATE, 3) => "Missing Well-known Attribute",
            (code::UPDATE, 4) => "Attribute Flags Error",
            (code::UPDATE, 5) => "Attribute Length Error",
            (code::UPDATE, 6) => "Invalid ORIGIN Attribute",
            (code::UPDATE, 8) => "Invalid NEXT_HOP Attribute",
            (code::UPDATE, 9) => "Optional Attribute Error",
            (code::UPDATE, 10) => "Invalid Network Field",
            (code::UPDATE, 11) => "Malformed AS_PATH",
            (code::FSM, 0) => "Unspecified",
            (code::FSM, 1) => "Unexpected Message in OpenSent",
            (code::FSM, 2) => "Unexpected Message in OpenConfirm",
            (code::FSM, 3) => "Unexpected Message in Established",
            (code::CEASE, 1) => "Maximum Number of Prefixes Reached",
            (code::CEASE, 2) => "Administrative Shutdown",
            (code::CEASE, 3) => "Peer De-configured",
            (code::CEASE, 4) => "Administrative Reset",
            (code::CEASE, 5) => "Connection Rejected",
            (code::CEASE, 6) => "Other Configuration Change",
            (code::CEASE, 7) => "Connection Collision Resolution",
            (code::CEASE, 8) => "Out of Resources",
            (code::CEASE, 9) => "Hard Reset",
            (code::CEASE, 10) => "BFD Down",
            (code::ROUTE_REFRESH, 1) => "Invalid Message Length",
            (code::HOLD_TIMER_EXPIRED | code::SEND_HOLD_TIMER_EXPIRED, 0) => "",
            _ => "Unknown",
        }
    }

    /// Decodes the body (after the header).
    pub fn decode(body: &[u8]) -> Result<Notification, DecodeError> {
        match body {
            [code, subcode, data @ ..] => Ok(Notification::new(*code, *subcode, data.to_vec())),
            _ => Err(DecodeError::new(
                body.len(),
                "notification",
                ErrorKind::Truncated,
            )),
        }
    }

    /// Appends the body.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.code);
        out.push(self.subcode);
        out.extend_from_slice(&self.data);
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} ({}", self.code, self.subcode, self.code_name())?;
        let sub = self.subcode_name();
        if !sub.is_empty() {
            write!(f, ": {sub}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication_round_trip() {
        let n = Notification::shutdown(cease::ADMIN_SHUTDOWN, "maintenance window");
        assert_eq!(n.data.first(), Some(&18));
        assert_eq!(
            n.shutdown_message(),
            Some(Ok("maintenance window".to_string()))
        );
        let long = "é".repeat(200);
        let n = Notification::shutdown(cease::ADMIN_RESET, &long);
        assert_eq!(n.data.len(), 1 + 254);
        assert!(n.shutdown_message().is_some_and(|r| r.is_ok()));
        let bad = Notification::new(6, 2, vec![10, b'a']);
        assert!(matches!(bad.shutdown_message(), Some(Err(_))));
    }

    #[test]
    fn hard_reset_wraps() {
        // tcpdump bgp-cease-hard-reset.pcap: 03 06 09 06 03.
        let n = Notification::new(6, 9, vec![6, 3]);
        assert_eq!(
            n.hard_reset_inner(),
            Some(Ok(Notification::new(6, 3, vec![])))
        );
        assert_eq!(
            Notification::hard_reset(&Notification::new(6, 3, vec![])),
            n
        );
        assert!(matches!(
            Notification::new(6, 9, vec![6]).hard_reset_inner(),
            Some(Err(_))
        ));
        assert_eq!(
            Notification::new(6, 10, vec![]).to_string(),
            "6/10 (Cease: BFD Down)"
        );
    }
}
