//! Messages, the 19-octet header (RFC 4271 §4.1) and stream framing.

use serde::Serialize;

use crate::context::{Context, MAX_MESSAGE_LEN};
use crate::notification::{code, header_error, Notification};
use crate::open::Open;
use crate::parse::{DecodeError, ErrorKind};
use crate::rfc7606::Verdict;
use crate::route_refresh::RouteRefresh;
use crate::update::Update;
use crate::EncodeError;

/// Header length.
pub const HEADER_LEN: usize = 19;

/// Message type codes.
pub mod msg_type {
    /// OPEN.
    pub const OPEN: u8 = 1;
    /// UPDATE.
    pub const UPDATE: u8 = 2;
    /// NOTIFICATION.
    pub const NOTIFICATION: u8 = 3;
    /// KEEPALIVE.
    pub const KEEPALIVE: u8 = 4;
    /// ROUTE-REFRESH.
    pub const ROUTE_REFRESH: u8 = 5;
}

/// A BGP message.
///
/// UPDATE is by far the largest variant; messages are short-lived values on the decode path,
/// so boxing it would cost an allocation per UPDATE for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

/// A decoded message with its RFC 7606 verdict (clean for everything but UPDATE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    /// The message.
    pub message: Message,
    /// The verdict.
    pub verdict: Verdict,
}

/// A message that cannot be accepted at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{error}")]
pub struct MessageError {
    /// What is wrong, where.
    pub error: DecodeError,
    /// The NOTIFICATION to send (none for a malformed NOTIFICATION, which is never answered).
    pub notification: Option<Notification>,
}

impl Message {
    /// The type code.
    pub fn type_code(&self) -> u8 {
        match self {
            Message::Open(_) => msg_type::OPEN,
            Message::Update(_) => msg_type::UPDATE,
            Message::Notification(_) => msg_type::NOTIFICATION,
            Message::Keepalive => msg_type::KEEPALIVE,
            Message::RouteRefresh(_) => msg_type::ROUTE_REFRESH,
        }
    }

    /// Encodes the whole message, header included. Fails if it exceeds what `ctx` allows.
    pub fn encode(&self, ctx: &Context, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.extend_from_slice(&[0xff; 16]);
        out.extend_from_slice(&[0, 0, self.type_code()]);
        match self {
            Message::Open(o) => o.encode_body(out)?,
            Message::Update(u) => u.encode_body(ctx, out)?,
            Message::Notification(n) => n.encode_body(out),
            Message::Keepalive => {}
            Message::RouteRefresh(r) => r.encode_body(out),
        }
        let len = out.len().saturating_sub(start);
        let max = match self {
            Message::Open(_) | Message::Keepalive => MAX_MESSAGE_LEN,
            _ => ctx.max_message_len(),
        };
        if len > max {
            out.truncate(start);
            return Err(EncodeError::MessageTooLong { len, max });
        }
        crate::open::set_u16(
            out,
            start.saturating_add(16),
            u16::try_from(len).unwrap_or(u16::MAX),
        );
        Ok(())
    }

    /// Encodes into a new buffer.
    pub fn to_bytes(&self, ctx: &Context) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(ctx, &mut out)?;
        Ok(out)
    }
}

fn header_err(offset: usize, field: &'static str, subcode: u8, data: Vec<u8>) -> MessageError {
    MessageError {
        error: DecodeError::new(offset, field, ErrorKind::Invalid),
        notification: Some(Notification::new(code::MESSAGE_HEADER, subcode, data)),
    }
}

/// Checks the header at the start of `buf` and returns the message length it declares, or
/// `Ok(None)` when fewer than 19 octets are buffered. Errors are Message Header Errors.
pub fn frame(buf: &[u8], ctx: &Context) -> Result<Option<usize>, MessageError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let (marker, rest) = header.split_at(16);
    if marker.iter().any(|b| *b != 0xff) {
        return Err(header_err(
            0,
            "marker",
            header_error::NOT_SYNCHRONIZED,
            vec![],
        ));
    }
    let [l0, l1, ty] = rest else { return Ok(None) };
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    let bad_len = || header_err(16, "length", header_error::BAD_LENGTH, vec![*l0, *l1]);
    let min = match *ty {
        msg_type::OPEN => 29,
        msg_type::UPDATE => 23,
        msg_type::NOTIFICATION => 21,
        msg_type::KEEPALIVE => 19,
        msg_type::ROUTE_REFRESH => 23,
        other => return Err(header_err(18, "type", header_error::BAD_TYPE, vec![other])),
    };
    let max = match *ty {
        msg_type::OPEN | msg_type::KEEPALIVE => MAX_MESSAGE_LEN,
        _ => ctx.max_message_len(),
    };
    if len < min || len > max || (*ty == msg_type::KEEPALIVE && len != HEADER_LEN) {
        return Err(bad_len());
    }
    Ok(Some(len))
}

/// Decodes one whole message (header included; `buf` must be exactly one message).
pub fn decode_message(buf: &[u8], ctx: &Context) -> Result<Received, MessageError> {
    let len = match frame(buf, ctx)? {
        Some(len) => len,
        None => {
            return Err(MessageError {
                error: DecodeError::new(buf.len(), "header", ErrorKind::Truncated),
                notification: None,
            })
        }
    };
    if len != buf.len() {
        let [l0, l1] = u16::try_from(len).unwrap_or(0).to_be_bytes();
        return Err(MessageError {
            error: DecodeError::new(
                16,
                "length",
                if len > buf.len() {
                    ErrorKind::Truncated
                } else {
                    ErrorKind::Trailing
                },
            ),
            notification: Some(Notification::new(
                code::MESSAGE_HEADER,
                header_error::BAD_LENGTH,
                vec![l0, l1],
            )),
        });
    }
    let ty = buf.get(18).copied().unwrap_or(0);
    let body = buf.get(HEADER_LEN..).unwrap_or(&[]);
    let clean = |message| {
        Ok(Received {
            message,
            verdict: Verdict::default(),
        })
    };
    match ty {
        msg_type::OPEN => match Open::decode(body) {
            Ok(o) => clean(Message::Open(o)),
            Err((e, n)) => Err(MessageError {
                error: e.shifted(HEADER_LEN),
                notification: Some(n),
            }),
        },
        msg_type::UPDATE => {
            let d = Update::decode(body, ctx);
            let mut verdict = d.verdict;
            for f in &mut verdict.findings {
                f.offset = f.offset.saturating_add(HEADER_LEN);
            }
            Ok(Received {
                message: Message::Update(d.update),
                verdict,
            })
        }
        msg_type::NOTIFICATION => match Notification::decode(body) {
            Ok(n) => clean(Message::Notification(n)),
            Err(e) => Err(MessageError {
                error: e.shifted(HEADER_LEN),
                notification: None,
            }),
        },
        msg_type::KEEPALIVE => clean(Message::Keepalive),
        msg_type::ROUTE_REFRESH => match RouteRefresh::decode(body) {
            Ok(r) => clean(Message::RouteRefresh(r)),
            Err(e) => Err(MessageError {
                error: e.shifted(HEADER_LEN),
                notification: Some(Notification::new(code::ROUTE_REFRESH, 1, buf.to_vec())),
            }),
        },
        other => Err(header_err(18, "type", header_error::BAD_TYPE, vec![other])),
    }
}

/// Splits complete messages off the front of a byte stream: yields each message's bytes and
/// leaves an incomplete tail. Used by session readers and by capture decoding.
#[derive(Debug)]
pub struct Framer<'a> {
    buf: &'a [u8],
    ctx: Context,
}

impl<'a> Framer<'a> {
    /// Frames `buf` under `ctx` (which sets the length limit).
    pub fn new(buf: &'a [u8], ctx: Context) -> Self {
        Framer { buf, ctx }
    }

    /// The bytes not yet framed.
    pub fn remainder(&self) -> &'a [u8] {
        self.buf
    }
}

impl<'a> Iterator for Framer<'a> {
    type Item = Result<&'a [u8], MessageError>;

    fn next(&mut self) -> Option<Self::Item> {
        match frame(self.buf, &self.ctx) {
            Ok(Some(len)) => {
                let (msg, rest) = (self.buf.get(..len)?, self.buf.get(len..)?);
                self.buf = rest;
                Some(Ok(msg))
            }
            Ok(None) => None,
            Err(e) => {
                // A header error ends the stream: nothing after it can be trusted.
                self.buf = &[];
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(len: u16, ty: u8) -> Vec<u8> {
        let mut v = vec![0xff; 16];
        v.extend_from_slice(&len.to_be_bytes());
        v.push(ty);
        v
    }

    #[test]
    fn keepalive_bytes() {
        let ka = Message::Keepalive
            .to_bytes(&Context::default())
            .unwrap_or_default();
        assert_eq!(ka, hdr(19, 4));
        let r = decode_message(&ka, &Context::default()).map(|r| r.message);
        assert_eq!(r, Ok(Message::Keepalive));
    }

    #[test]
    fn header_errors_carry_notifications() {
        let ctx = Context::default();
        let mut bad = hdr(19, 4);
        bad[0] = 0;
        let e = decode_message(&bad, &ctx)
            .err()
            .and_then(|e| e.notification);
        assert_eq!(e, Some(Notification::new(1, 1, vec![])));
        let e = decode_message(&hdr(20, 4), &ctx)
            .err()
            .and_then(|e| e.notification);
        assert_eq!(e, Some(Notification::new(1, 2, vec![0, 20])));
        let e = decode_message(&hdr(19, 9), &ctx)
            .err()
            .and_then(|e| e.notification);
        assert_eq!(e, Some(Notification::new(1, 3, vec![9])));
        // 5000-octet UPDATE: too long unless extended messages are negotiated.
        let mut big = hdr(5000, 2);
        big.resize(5000, 0);
        let e = decode_message(&big, &ctx)
            .err()
            .and_then(|e| e.notification);
        assert_eq!(e, Some(Notification::new(1, 2, vec![0x13, 0x88])));
        let ext = Context {
            extended_message: true,
            ..ctx
        };
        assert!(frame(&big, &ext).is_ok());
        // OPEN stays limited to 4096 even then.
        let open = hdr(5000, 1);
        assert!(frame(&open, &ext).is_err());
    }

    #[test]
    fn framer_splits_and_keeps_tail() {
        let ctx = Context::default();
        let mut stream = hdr(19, 4);
        stream.extend(hdr(19, 4));
        stream.extend_from_slice(&[0xff; 10]);
        let mut f = Framer::new(&stream, ctx);
        assert!(matches!(f.next(), Some(Ok(m)) if m.len() == 19));
        assert!(matches!(f.next(), Some(Ok(_))));
        assert!(f.next().is_none());
        assert_eq!(f.remainder().len(), 10);
    }
}
