//! The parsing foundation: a small `Copy` error type for `nom` parsers over `&[u8]`, the
//! public [`DecodeError`] it becomes, and a few primitive parsers.
//!
//! Parsers work on complete buffers whose length has already been checked by the framing
//! layer, so `nom`'s `complete` combinators are used throughout. A failing parser records how
//! many input bytes were left when it failed (`remaining`); the entry point that knows the
//! whole buffer turns that into an absolute offset.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, be_u8};
use nom::Parser;
use serde::Serialize;

/// What went wrong in a parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The input ended before the field did.
    Truncated,
    /// The field's value or declared length is not allowed.
    Invalid,
    /// Bytes left over after the last field.
    Trailing,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Trailing => "trailing bytes",
        })
    }
}

/// The error type of every `nom` parser in this crate: small (32 bytes) and `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PErr {
    /// Input bytes left when the parser failed.
    pub remaining: usize,
    /// The field being parsed (the innermost `context`).
    pub field: &'static str,
    /// The failure.
    pub kind: ErrorKind,
}

impl<'a> nom::error::ParseError<&'a [u8]> for PErr {
    fn from_error_kind(input: &'a [u8], kind: nom::error::ErrorKind) -> Self {
        let kind = match kind {
            nom::error::ErrorKind::Eof => ErrorKind::Truncated,
            _ => ErrorKind::Invalid,
        };
        PErr {
            remaining: input.len(),
            field: "",
            kind,
        }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a> nom::error::ContextError<&'a [u8]> for PErr {
    fn add_context(_input: &'a [u8], ctx: &'static str, mut other: Self) -> Self {
        if other.field.is_empty() {
            other.field = ctx;
        }
        other
    }
}

/// Result of a parser in this crate.
pub type PResult<'a, T> = nom::IResult<&'a [u8], T, PErr>;

/// A decoding failure with its position in the buffer handed to the public decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error, Serialize)]
#[error("{field}: {kind} at offset {offset}")]
pub struct DecodeError {
    /// Byte offset in the decoded buffer where the failing field starts or the input ran out.
    pub offset: usize,
    /// The field being decoded.
    pub field: &'static str,
    /// The failure.
    pub kind: ErrorKind,
}

impl DecodeError {
    /// Builds an error at `offset`.
    pub const fn new(offset: usize, field: &'static str, kind: ErrorKind) -> Self {
        DecodeError {
            offset,
            field,
            kind,
        }
    }

    /// Shifts the offset by `base` (the position of a sub-buffer in its parent).
    pub fn shifted(self, base: usize) -> Self {
        DecodeError {
            offset: self.offset.saturating_add(base),
            ..self
        }
    }
}

/// Converts a parser failure inside `whole` into a [`DecodeError`].
pub(crate) fn to_decode_error(
    whole: &[u8],
    err: nom::Err<PErr>,
    default_field: &'static str,
) -> DecodeError {
    match err {
        nom::Err::Error(e) | nom::Err::Failure(e) => DecodeError {
            offset: whole.len().saturating_sub(e.remaining),
            field: if e.field.is_empty() {
                default_field
            } else {
                e.field
            },
            kind: e.kind,
        },
        nom::Err::Incomplete(_) => DecodeError {
            offset: whole.len(),
            field: default_field,
            kind: ErrorKind::Truncated,
        },
    }
}

/// Runs `parser` over all of `input`, requiring it to consume every byte.
pub(crate) fn parse_all<'a, T>(
    input: &'a [u8],
    field: &'static str,
    parser: impl FnOnce(&'a [u8]) -> PResult<'a, T>,
) -> Result<T, DecodeError> {
    match parser(input) {
        Ok(([], v)) => Ok(v),
        Ok((rest, _)) => Err(DecodeError::new(
            input.len().saturating_sub(rest.len()),
            field,
            ErrorKind::Trailing,
        )),
        Err(e) => Err(to_decode_error(input, e, field)),
    }
}

/// A parser failure at `input` for `field`.
pub(crate) fn invalid<'a, T>(input: &'a [u8], field: &'static str) -> PResult<'a, T> {
    Err(nom::Err::Error(PErr {
        remaining: input.len(),
        field,
        kind: ErrorKind::Invalid,
    }))
}

/// A truncation failure at `input` for `field`.
pub(crate) fn truncated<'a, T>(input: &'a [u8], field: &'static str) -> PResult<'a, T> {
    Err(nom::Err::Error(PErr {
        remaining: input.len(),
        field,
        kind: ErrorKind::Truncated,
    }))
}

/// Names the field a sub-parser reads, for error reports.
pub(crate) fn field<'a, T>(
    name: &'static str,
    mut parser: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> impl FnMut(&'a [u8]) -> PResult<'a, T> {
    move |i| {
        parser(i).map_err(|e| {
            e.map(|mut p| {
                if p.field.is_empty() {
                    p.field = name;
                }
                p
            })
        })
    }
}

/// One octet.
#[inline]
pub(crate) fn u8_(i: &[u8]) -> PResult<'_, u8> {
    be_u8(i)
}

/// A big-endian u16.
#[inline]
pub(crate) fn u16_(i: &[u8]) -> PResult<'_, u16> {
    be_u16(i)
}

/// A big-endian u32.
#[inline]
pub(crate) fn u32_(i: &[u8]) -> PResult<'_, u32> {
    be_u32(i)
}

/// A fixed-size array.
#[inline]
pub(crate) fn array<const N: usize>(i: &[u8]) -> PResult<'_, [u8; N]> {
    let (rest, s) = take(N).parse(i)?;
    match <[u8; N]>::try_from(s) {
        Ok(a) => Ok((rest, a)),
        Err(_) => truncated(i, ""),
    }
}

/// An IPv4 address.
#[inline]
pub(crate) fn ipv4(i: &[u8]) -> PResult<'_, Ipv4Addr> {
    let (i, a) = array::<4>(i)?;
    Ok((i, Ipv4Addr::from(a)))
}

/// An IPv6 address.
#[inline]
pub(crate) fn ipv6(i: &[u8]) -> PResult<'_, Ipv6Addr> {
    let (i, a) = array::<16>(i)?;
    Ok((i, Ipv6Addr::from(a)))
}

/// Splits `len` bytes off the front of `i`, failing with `field` when they are not there.
#[inline]
pub(crate) fn split<'a>(i: &'a [u8], len: usize, field: &'static str) -> PResult<'a, &'a [u8]> {
    match (i.get(..len), i.get(len..)) {
        (Some(head), Some(rest)) => Ok((rest, head)),
        _ => truncated(i, field),
    }
}

/// An IPv4 prefix from its address octets and length, host bits cleared; `None` if the
/// length exceeds 32. (Masking here instead of `Ipv4Net::trunc`, which is not inlined and
/// showed up at 17% of type-5 decoding.)
#[inline]
pub(crate) fn v4net(octets: [u8; 4], len: u8) -> Option<ipnet::Ipv4Net> {
    let mask = u32::MAX
        .checked_shl(32u32.checked_sub(u32::from(len))?)
        .unwrap_or(0);
    let addr = u32::from_be_bytes(octets) & mask;
    ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(addr), len).ok()
}

/// An IPv6 prefix from its address octets and length, host bits cleared; `None` if the
/// length exceeds 128.
#[inline]
pub(crate) fn v6net(octets: [u8; 16], len: u8) -> Option<ipnet::Ipv6Net> {
    let mask = u128::MAX
        .checked_shl(128u32.checked_sub(u32::from(len))?)
        .unwrap_or(0);
    let addr = u128::from_be_bytes(octets) & mask;
    ipnet::Ipv6Net::new(std::net::Ipv6Addr::from(addr), len).ok()
}

/// Number of octets holding a prefix of `bits` bits.
#[inline]
pub(crate) fn prefix_octets(bits: u8) -> usize {
    usize::from(bits.div_ceil(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_offsets_and_fields() {
        let buf = [1u8, 2, 3];
        let r = parse_all(&buf, "thing", |i| {
            let (i, _) = u8_(i)?;
            field("second", u32_)(i)
        });
        assert_eq!(r, Err(DecodeError::new(1, "second", ErrorKind::Truncated)));
        let r = parse_all(&buf, "thing", u16_);
        assert_eq!(r, Err(DecodeError::new(2, "thing", ErrorKind::Trailing)));
        assert_eq!(std::mem::size_of::<PErr>(), 32);
    }
}
