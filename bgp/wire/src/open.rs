//! OPEN (RFC 4271 §4.2), optional parameters (RFC 5492, RFC 9072) and capabilities.

use std::net::Ipv4Addr;

use nom::Parser;
use serde::Serialize;

use crate::notification::{open_error, Notification};
use crate::parse::{array, field, invalid, ipv4, split, u16_, u32_, u8_, DecodeError, PResult};
use crate::types::{AfiSafi, Family};
use crate::EncodeError;

/// Capability codes (IANA "Capability Codes").
pub mod code {
    /// Multiprotocol extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Extended next hop encoding (RFC 8950).
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    /// Extended message (RFC 8654).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// BGP role (RFC 9234).
    pub const ROLE: u8 = 9;
    /// Graceful restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// 4-octet AS numbers (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// ADD-PATH (RFC 7911).
    pub const ADD_PATH: u8 = 69;
    /// Enhanced route refresh (RFC 7313).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// Long-lived graceful restart (RFC 9494).
    pub const LONG_LIVED_GR: u8 = 71;
    /// FQDN / hostname (draft-walton-bgp-hostname-capability).
    pub const FQDN: u8 = 73;
    /// Software version (draft-abraitis-bgp-version-capability).
    pub const SOFTWARE_VERSION: u8 = 75;
    /// Route refresh, Cisco pre-standard.
    pub const ROUTE_REFRESH_CISCO: u8 = 128;

    /// Every code this crate decodes into a typed capability.
    pub const KNOWN: [u8; 13] = [
        MULTIPROTOCOL,
        ROUTE_REFRESH,
        EXTENDED_NEXT_HOP,
        EXTENDED_MESSAGE,
        ROLE,
        GRACEFUL_RESTART,
        FOUR_OCTET_AS,
        ADD_PATH,
        ENHANCED_ROUTE_REFRESH,
        LONG_LIVED_GR,
        FQDN,
        SOFTWARE_VERSION,
        ROUTE_REFRESH_CISCO,
    ];
}

/// AS_TRANS (RFC 6793): the 2-octet stand-in for a 4-octet AS number.
pub const AS_TRANS: u16 = 23456;

/// A BGP OPEN message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Open {
    /// My Autonomous System (AS_TRANS when the real AS needs 4 octets).
    pub my_as: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Optional parameters, in wire order.
    pub params: Vec<OptParam>,
    /// Encoded with RFC 9072 extended optional parameter lengths.
    pub extended_params: bool,
}

/// An OPEN optional parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum OptParam {
    /// Type 2: one or more capabilities.
    Capabilities(Vec<Capability>),
    /// Any other parameter type (type 1, authentication, is deprecated).
    Unknown {
        /// Parameter type.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_unknown_param_type))]
        param_type: u8,
        /// Parameter value.
        value: Vec<u8>,
    },
}

#[cfg(feature = "arbitrary")]
fn arb_unknown_param_type(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<u8> {
    // Anything but 2 (capabilities) and 255 (the RFC 9072 marker).
    Ok(match u.int_in_range(0..=252u8)? {
        2 => 1,
        t => t,
    })
}

/// ADD-PATH send/receive mode for one family (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AddPathMode(pub u8);

impl AddPathMode {
    /// Receive only.
    pub const RECEIVE: AddPathMode = AddPathMode(1);
    /// Send only.
    pub const SEND: AddPathMode = AddPathMode(2);
    /// Both.
    pub const BOTH: AddPathMode = AddPathMode(3);

    /// The speaker can receive multiple paths.
    pub fn receives(self) -> bool {
        self.0 & 1 != 0
    }

    /// The speaker can send multiple paths.
    pub fn sends(self) -> bool {
        self.0 & 2 != 0
    }
}

/// One ADD-PATH entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct AddPathEntry {
    /// The family.
    pub afi_safi: AfiSafi,
    /// Send / receive.
    pub mode: AddPathMode,
}

/// One RFC 8950 entry: NLRI of (AFI, SAFI) may carry a next hop of `next_hop_afi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ExtendedNextHopEntry {
    /// NLRI AFI.
    pub afi: u16,
    /// NLRI SAFI (two octets here, unlike elsewhere).
    pub safi: u16,
    /// Next-hop AFI.
    pub next_hop_afi: u16,
}

/// Graceful restart capability (RFC 4724, RFC 8538).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GracefulRestart {
    /// The 4 restart flag bits (R = 0x8, N = 0x4).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_nibble))]
    pub flags: u8,
    /// Restart time in seconds (12 bits).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_restart_time))]
    pub restart_time: u16,
    /// Families whose state the speaker preserves.
    pub families: Vec<GrFamily>,
}

#[cfg(feature = "arbitrary")]
fn arb_nibble(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<u8> {
    u.int_in_range(0..=15)
}

#[cfg(feature = "arbitrary")]
fn arb_restart_time(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<u16> {
    u.int_in_range(0..=0x0fff)
}

impl GracefulRestart {
    /// Restart State (R) bit.
    pub const RESTART: u8 = 0x8;
    /// Graceful Notification (N) bit, RFC 8538.
    pub const NOTIFICATION: u8 = 0x4;

    /// R bit set.
    pub fn restarting(&self) -> bool {
        self.flags & Self::RESTART != 0
    }

    /// N bit set.
    pub fn notification(&self) -> bool {
        self.flags & Self::NOTIFICATION != 0
    }
}

/// A family in the graceful restart capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GrFamily {
    /// The family.
    pub afi_safi: AfiSafi,
    /// Flags (F = 0x80: forwarding state preserved).
    pub flags: u8,
}

impl GrFamily {
    /// Forwarding state preserved (F bit).
    pub fn forwarding_preserved(&self) -> bool {
        self.flags & 0x80 != 0
    }
}

/// A family in the long-lived graceful restart capability (RFC 9494).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LlgrFamily {
    /// The family.
    pub afi_safi: AfiSafi,
    /// Flags (F = 0x80).
    pub flags: u8,
    /// Long-lived stale time in seconds (24 bits).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_u24))]
    pub stale_time: u32,
}

#[cfg(feature = "arbitrary")]
fn arb_u24(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<u32> {
    u.int_in_range(0..=0x00ff_ffff)
}

/// A capability (RFC 5492). Unknown codes are kept and otherwise ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Capability {
    /// 1: multiprotocol extensions for one family.
    Multiprotocol(AfiSafi),
    /// 2: route refresh.
    RouteRefresh,
    /// 5: extended next hop encoding.
    ExtendedNextHop(Vec<ExtendedNextHopEntry>),
    /// 6: extended message.
    ExtendedMessage,
    /// 9: BGP role (0 provider, 1 RS, 2 RS client, 3 customer, 4 peer).
    Role(u8),
    /// 64: graceful restart.
    GracefulRestart(GracefulRestart),
    /// 65: 4-octet AS number.
    FourOctetAs(u32),
    /// 69: ADD-PATH.
    AddPath(Vec<AddPathEntry>),
    /// 70: enhanced route refresh.
    EnhancedRouteRefresh,
    /// 71: long-lived graceful restart.
    LongLivedGr(Vec<LlgrFamily>),
    /// 73: hostname and domain name.
    Fqdn {
        /// Host name.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_short_string))]
        hostname: String,
        /// Domain name.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_short_string))]
        domain: String,
    },
    /// 75: software version string.
    SoftwareVersion(#[cfg_attr(feature = "arbitrary", arbitrary(with = arb_short_string))] String),
    /// 128: Cisco pre-standard route refresh.
    RouteRefreshCisco,
    /// Any other code, kept verbatim; also a hostname or software version capability whose
    /// strings are not UTF-8 (kept verbatim so that it re-encodes exactly).
    Unknown {
        /// Capability code.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = arb_unknown_cap_code))]
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

#[cfg(feature = "arbitrary")]
fn arb_short_string(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<String> {
    let len = u.int_in_range(0..=24usize)?;
    let mut s = String::new();
    for _ in 0..len {
        s.push(char::from(u.int_in_range(b'a'..=b'z')?));
    }
    Ok(s)
}

#[cfg(feature = "arbitrary")]
fn arb_unknown_cap_code(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<u8> {
    loop {
        let c: u8 = u.arbitrary()?;
        if !code::KNOWN.contains(&c) {
            return Ok(c);
        }
        if u.is_empty() {
            return Ok(3);
        }
    }
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => code::MULTIPROTOCOL,
            Capability::RouteRefresh => code::ROUTE_REFRESH,
            Capability::ExtendedNextHop(_) => code::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => code::EXTENDED_MESSAGE,
            Capability::Role(_) => code::ROLE,
            Capability::GracefulRestart(_) => code::GRACEFUL_RESTART,
            Capability::FourOctetAs(_) => code::FOUR_OCTET_AS,
            Capability::AddPath(_) => code::ADD_PATH,
            Capability::EnhancedRouteRefresh => code::ENHANCED_ROUTE_REFRESH,
            Capability::LongLivedGr(_) => code::LONG_LIVED_GR,
            Capability::Fqdn { .. } => code::FQDN,
            Capability::SoftwareVersion(_) => code::SOFTWARE_VERSION,
            Capability::RouteRefreshCisco => code::ROUTE_REFRESH_CISCO,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Decodes one capability value for `code`.
    fn decode_value(code_: u8, v: &[u8]) -> Result<Capability, DecodeError> {
        use crate::parse::parse_all;
        let cap = match code_ {
            code::MULTIPROTOCOL => parse_all(v, "multiprotocol", |i| {
                let (i, afi) = u16_(i)?;
                let (i, _reserved) = u8_(i)?;
                let (i, safi) = u8_(i)?;
                Ok((i, Capability::Multiprotocol(AfiSafi::new(afi, safi))))
            })?,
            code::ROUTE_REFRESH => empty(v, Capability::RouteRefresh, "route-refresh")?,
            code::ROUTE_REFRESH_CISCO => empty(v, Capability::RouteRefreshCisco, "route-refresh")?,
            code::EXTENDED_MESSAGE => empty(v, Capability::ExtendedMessage, "extended-message")?,
            code::ENHANCED_ROUTE_REFRESH => empty(
                v,
                Capability::EnhancedRouteRefresh,
                "enhanced-route-refresh",
            )?,
            code::EXTENDED_NEXT_HOP => {
                Capability::ExtendedNextHop(entries(v, 6, "extended-next-hop", |i| {
                    let (i, afi) = u16_(i)?;
                    let (i, safi) = u16_(i)?;
                    let (i, next_hop_afi) = u16_(i)?;
                    Ok((
                        i,
                        ExtendedNextHopEntry {
                            afi,
                            safi,
                            next_hop_afi,
                        },
                    ))
                })?)
            }
            code::ROLE => parse_all(v, "role", |i| {
                let (i, r) = u8_(i)?;
                Ok((i, Capability::Role(r)))
            })?,
            code::GRACEFUL_RESTART => parse_all(v, "graceful-restart", |i| {
                let (i, word) = u16_(i)?;
                let [hi, lo] = word.to_be_bytes();
                let families_len = i.len();
                if families_len % 4 != 0 {
                    return invalid(i, "graceful-restart");
                }
                let (i, families) = nom::multi::many0(|i| {
                    let (i, afi) = u16_(i)?;
                    let (i, safi) = u8_(i)?;
                    let (i, flags) = u8_(i)?;
                    Ok((
                        i,
                        GrFamily {
                            afi_safi: AfiSafi::new(afi, safi),
                            flags,
                        },
                    ))
                })
                .parse(i)?;
                Ok((
                    i,
                    Capability::GracefulRestart(GracefulRestart {
                        flags: hi >> 4,
                        restart_time: u16::from_be_bytes([hi & 0x0f, lo]),
                        families,
                    }),
                ))
            })?,
            code::FOUR_OCTET_AS => parse_all(v, "four-octet-as", |i| {
                let (i, asn) = u32_(i)?;
                Ok((i, Capability::FourOctetAs(asn)))
            })?,
            code::ADD_PATH => Capability::AddPath(entries(v, 4, "add-path", |i| {
                let (i, afi) = u16_(i)?;
                let (i, safi) = u8_(i)?;
                let (i, mode) = u8_(i)?;
                if !(1..=3).contains(&mode) {
                    return invalid(i, "add-path send/receive");
                }
                Ok((
                    i,
                    AddPathEntry {
                        afi_safi: AfiSafi::new(afi, safi),
                        mode: AddPathMode(mode),
                    },
                ))
            })?),
            code::LONG_LIVED_GR => Capability::LongLivedGr(entries(v, 7, "long-lived-gr", |i| {
                let (i, afi) = u16_(i)?;
                let (i, safi) = u8_(i)?;
                let (i, flags) = u8_(i)?;
                let (i, t) = array::<3>(i)?;
                let [a, b, c] = t;
                Ok((
                    i,
                    LlgrFamily {
                        afi_safi: AfiSafi::new(afi, safi),
                        flags,
                        stale_time: u32::from_be_bytes([0, a, b, c]),
                    },
                ))
            })?),
            // Fuzz fix (fuzz/regressions/open/software-version-invalid-utf8): these strings
            // used to be read with `from_utf8_lossy`, so a non-UTF-8 octet became U+FFFD (3
            // octets) and re-encoding the OPEN changed its bytes and lengths (here: parameters
            // grown past 255 octets, re-encoded with RFC 9072 lengths). A value that is not
            // UTF-8 is now kept verbatim as `Unknown`, so every decoded OPEN re-encodes exactly.
            code::FQDN => parse_all(v, "fqdn", |i| {
                let (i, hostname) = short_string(i)?;
                let (i, domain) = short_string(i)?;
                Ok((i, (hostname, domain)))
            })
            .map(|p| match p {
                (Some(hostname), Some(domain)) => Capability::Fqdn { hostname, domain },
                _ => Capability::Unknown {
                    code: code_,
                    value: v.to_vec(),
                },
            })?,
            code::SOFTWARE_VERSION => parse_all(v, "software-version", short_string).map(|s| {
                s.map_or_else(
                    || Capability::Unknown {
                        code: code_,
                        value: v.to_vec(),
                    },
                    Capability::SoftwareVersion,
                )
            })?,
            other => Capability::Unknown {
                code: other,
                value: v.to_vec(),
            },
        };
        Ok(cap)
    }

    fn encode_value(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Capability::Multiprotocol(a) => {
                out.extend_from_slice(&a.afi.to_be_bytes());
                out.push(0);
                out.push(a.safi);
            }
            Capability::RouteRefresh
            | Capability::ExtendedMessage
            | Capability::EnhancedRouteRefresh
            | Capability::RouteRefreshCisco => {}
            Capability::ExtendedNextHop(entries) => {
                for e in entries {
                    out.extend_from_slice(&e.afi.to_be_bytes());
                    out.extend_from_slice(&e.safi.to_be_bytes());
                    out.extend_from_slice(&e.next_hop_afi.to_be_bytes());
                }
            }
            Capability::Role(r) => out.push(*r),
            Capability::GracefulRestart(gr) => {
                let [hi, lo] = (gr.restart_time & 0x0fff).to_be_bytes();
                out.push(((gr.flags & 0x0f) << 4) | hi);
                out.push(lo);
                for f in &gr.families {
                    out.extend_from_slice(&f.afi_safi.afi.to_be_bytes());
                    out.push(f.afi_safi.safi);
                    out.push(f.flags);
                }
            }
            Capability::FourOctetAs(asn) => out.extend_from_slice(&asn.to_be_bytes()),
            Capability::AddPath(entries) => {
                for e in entries {
                    out.extend_from_slice(&e.afi_safi.afi.to_be_bytes());
                    out.push(e.afi_safi.safi);
                    out.push(e.mode.0);
                }
            }
            Capability::LongLivedGr(entries) => {
                for e in entries {
                    out.extend_from_slice(&e.afi_safi.afi.to_be_bytes());
                    out.push(e.afi_safi.safi);
                    out.push(e.flags);
                    let [_, a, b, c] = (e.stale_time & 0x00ff_ffff).to_be_bytes();
                    out.extend_from_slice(&[a, b, c]);
                }
            }
            Capability::Fqdn { hostname, domain } => {
                push_short_string(out, hostname)?;
                push_short_string(out, domain)?;
            }
            Capability::SoftwareVersion(s) => push_short_string(out, s)?,
            Capability::Unknown { value, .. } => out.extend_from_slice(value),
        }
        Ok(())
    }
}

fn empty(v: &[u8], cap: Capability, name: &'static str) -> Result<Capability, DecodeError> {
    if v.is_empty() {
        Ok(cap)
    } else {
        Err(DecodeError::new(0, name, crate::parse::ErrorKind::Trailing))
    }
}

/// Decodes a capability value made of fixed-size entries.
fn entries<'a, T>(
    v: &'a [u8],
    size: usize,
    name: &'static str,
    entry: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> Result<Vec<T>, DecodeError> {
    if !v.len().is_multiple_of(size) {
        return Err(DecodeError::new(0, name, crate::parse::ErrorKind::Invalid));
    }
    crate::parse::parse_all(v, name, |i| nom::multi::many0(field(name, entry)).parse(i))
}

/// A length-prefixed string; `None` when it is not UTF-8.
fn short_string(i: &[u8]) -> PResult<'_, Option<String>> {
    let (i, len) = u8_(i)?;
    let (i, s) = split(i, usize::from(len), "string")?;
    Ok((i, String::from_utf8(s.to_vec()).ok()))
}

fn push_short_string(out: &mut Vec<u8>, s: &str) -> Result<(), EncodeError> {
    let len = u8::try_from(s.len()).map_err(|_| EncodeError::TooLong("capability string"))?;
    out.push(len);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

impl Open {
    /// An OPEN with one capability per optional parameter, as FRR, Cisco and Junos send it.
    pub fn new(my_asn: u32, hold_time: u16, bgp_id: Ipv4Addr, caps: Vec<Capability>) -> Open {
        let my_as = u16::try_from(my_asn).unwrap_or(AS_TRANS);
        Open {
            my_as,
            hold_time,
            bgp_id,
            params: caps
                .into_iter()
                .map(|c| OptParam::Capabilities(vec![c]))
                .collect(),
            extended_params: false,
        }
    }

    /// Every capability, across all parameters.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.params.iter().flat_map(|p| match p {
            OptParam::Capabilities(c) => c.as_slice(),
            OptParam::Unknown { .. } => &[],
        })
    }

    /// The 4-octet AS from capability 65, if present.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities().find_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        })
    }

    /// The speaker's AS: capability 65 if present, else My AS.
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// Families announced with the multiprotocol capability.
    pub fn multiprotocol(&self) -> impl Iterator<Item = AfiSafi> + '_ {
        self.capabilities().filter_map(|c| match c {
            Capability::Multiprotocol(a) => Some(*a),
            _ => None,
        })
    }

    /// The ADD-PATH mode advertised for `family` (the last entry wins).
    pub fn add_path_mode(&self, family: Family) -> Option<AddPathMode> {
        let want = family.afi_safi();
        self.capabilities()
            .filter_map(|c| match c {
                Capability::AddPath(e) => Some(e),
                _ => None,
            })
            .flatten()
            .filter(|e| e.afi_safi == want)
            .map(|e| e.mode)
            .last()
    }

    /// Whether the speaker accepts an IPv6 next hop for `family` (RFC 8950). Always true for
    /// the IPv6 families, whose next hop is IPv6 anyway.
    pub fn extended_next_hop(&self, family: Family) -> bool {
        let want = family.afi_safi();
        self.capabilities().any(|c| match c {
            Capability::ExtendedNextHop(e) => e.iter().any(|x| {
                x.afi == want.afi && x.safi == u16::from(want.safi) && x.next_hop_afi == 2
            }),
            _ => false,
        })
    }

    /// Semantic checks of RFC 4271 §6.2 that need no configuration: hold time 1 or 2 (2/6)
    /// and a zero BGP Identifier (2/3). Peer AS and other configured values are the session's
    /// to check.
    pub fn validate(&self) -> Result<(), Notification> {
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(Notification::new(
                2,
                open_error::UNACCEPTABLE_HOLD_TIME,
                vec![],
            ));
        }
        if self.bgp_id.is_unspecified() {
            return Err(Notification::new(2, open_error::BAD_BGP_IDENTIFIER, vec![]));
        }
        if let Some(OptParam::Unknown { param_type, value }) = self
            .params
            .iter()
            .find(|p| matches!(p, OptParam::Unknown { .. }))
        {
            let mut data = vec![*param_type];
            data.extend_from_slice(value);
            return Err(Notification::new(
                2,
                open_error::UNSUPPORTED_OPTIONAL_PARAMETER,
                data,
            ));
        }
        Ok(())
    }

    /// Whether the parameters need RFC 9072 lengths (they exceed 255 octets).
    pub fn needs_extended_params(&self) -> bool {
        let mut scratch = Vec::new();
        self.encode_params(&mut scratch, false).is_err() || scratch.len() > 255
    }

    /// Decodes the OPEN body (after the 19-byte header). Errors carry the NOTIFICATION to
    /// send.
    pub fn decode(body: &[u8]) -> Result<Open, (DecodeError, Notification)> {
        let unspecific = |e: DecodeError| (e, Notification::new(2, 0, vec![]));
        let (rest, (version, my_as, hold_time, bgp_id, opt_len)) = (|i| {
            let (i, version) = u8_(i)?;
            let (i, my_as) = u16_(i)?;
            let (i, hold) = u16_(i)?;
            let (i, id) = ipv4(i)?;
            let (i, opt_len) = u8_(i)?;
            Ok::<_, nom::Err<crate::parse::PErr>>((i, (version, my_as, hold, id, opt_len)))
        })(body)
        .map_err(|e| unspecific(crate::parse::to_decode_error(body, e, "open")))?;
        if version != 4 {
            return Err((
                DecodeError::new(0, "version", crate::parse::ErrorKind::Invalid),
                Notification::new(2, open_error::UNSUPPORTED_VERSION, vec![0, 4]),
            ));
        }
        let base = body.len().saturating_sub(rest.len());
        // RFC 9072: Opt Parm Len 255 and a first parameter type of 255 mark the extended form.
        let extended = opt_len == 255 && rest.first() == Some(&255);
        let params_bytes = if extended {
            crate::parse::parse_all(rest, "extended optional parameters length", |i| {
                let (i, _) = u8_(i)?;
                let (i, len) = u16_(i)?;
                if usize::from(len) != i.len() {
                    return invalid(i, "extended optional parameters length");
                }
                Ok((&[][..], i))
            })
            .map_err(|e| unspecific(e.shifted(base)))?
        } else {
            if usize::from(opt_len) != rest.len() {
                return Err(unspecific(DecodeError::new(
                    base.saturating_sub(1),
                    "optional parameters length",
                    crate::parse::ErrorKind::Invalid,
                )));
            }
            rest
        };
        let params_base = body.len().saturating_sub(params_bytes.len());
        let params = decode_params(params_bytes, extended)
            .map_err(|e| unspecific(e.shifted(params_base)))?;
        Ok(Open {
            my_as,
            hold_time,
            bgp_id,
            params,
            extended_params: extended,
        })
    }

    fn encode_params(&self, out: &mut Vec<u8>, extended: bool) -> Result<(), EncodeError> {
        for p in &self.params {
            let (ty, start) = match p {
                OptParam::Capabilities(_) => (2u8, out.len()),
                OptParam::Unknown { param_type, .. } => (*param_type, out.len()),
            };
            out.push(ty);
            out.push(0);
            if extended {
                out.push(0);
            }
            let body_start = out.len();
            match p {
                OptParam::Capabilities(caps) => {
                    for c in caps {
                        out.push(c.code());
                        let len_at = out.len();
                        out.push(0);
                        c.encode_value(out)?;
                        let len = u8::try_from(out.len().saturating_sub(len_at).saturating_sub(1))
                            .map_err(|_| EncodeError::TooLong("capability"))?;
                        set_u8(out, len_at, len);
                    }
                }
                OptParam::Unknown { value, .. } => out.extend_from_slice(value),
            }
            let body_len = out.len().saturating_sub(body_start);
            if extended {
                let len = u16::try_from(body_len)
                    .map_err(|_| EncodeError::TooLong("optional parameter"))?;
                set_u16(out, start.saturating_add(1), len);
            } else {
                let len = u8::try_from(body_len)
                    .map_err(|_| EncodeError::TooLong("optional parameter"))?;
                set_u8(out, start.saturating_add(1), len);
            }
        }
        Ok(())
    }

    /// Appends the OPEN body (without the header).
    pub fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(4);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let extended = self.extended_params || self.needs_extended_params();
        if extended {
            out.extend_from_slice(&[255, 255, 0, 0]);
            let start = out.len();
            self.encode_params(out, true)?;
            let len = u16::try_from(out.len().saturating_sub(start))
                .map_err(|_| EncodeError::TooLong("optional parameters"))?;
            set_u16(out, start.saturating_sub(2), len);
        } else {
            let len_at = out.len();
            out.push(0);
            self.encode_params(out, false)?;
            let len = u8::try_from(out.len().saturating_sub(len_at).saturating_sub(1))
                .map_err(|_| EncodeError::TooLong("optional parameters"))?;
            set_u8(out, len_at, len);
        }
        Ok(())
    }
}

fn decode_params(mut i: &[u8], extended: bool) -> Result<Vec<OptParam>, DecodeError> {
    let total = i.len();
    let mut params = Vec::new();
    while !i.is_empty() {
        let at = total.saturating_sub(i.len());
        let parsed: PResult<'_, (u8, &[u8])> = (|i| {
            let (i, ty) = u8_(i)?;
            let (i, len) = if extended {
                u16_(i)?
            } else {
                u8_(i).map(|(i, l)| (i, u16::from(l)))?
            };
            let (i, value) = split(i, usize::from(len), "optional parameter")?;
            Ok((i, (ty, value)))
        })(i);
        let (rest, (ty, value)) = parsed
            .map_err(|e| crate::parse::to_decode_error(i, e, "optional parameter").shifted(at))?;
        let value_at = at.saturating_add(if extended { 3 } else { 2 });
        if ty == 2 {
            params.push(OptParam::Capabilities(
                decode_caps(value).map_err(|e| e.shifted(value_at))?,
            ));
        } else {
            params.push(OptParam::Unknown {
                param_type: ty,
                value: value.to_vec(),
            });
        }
        i = rest;
    }
    Ok(params)
}

fn decode_caps(mut i: &[u8]) -> Result<Vec<Capability>, DecodeError> {
    let total = i.len();
    let mut caps = Vec::new();
    while !i.is_empty() {
        let at = total.saturating_sub(i.len());
        let parsed: PResult<'_, (u8, &[u8])> = (|i| {
            let (i, code) = u8_(i)?;
            let (i, len) = u8_(i)?;
            let (i, value) = split(i, usize::from(len), "capability")?;
            Ok((i, (code, value)))
        })(i);
        let (rest, (code, value)) =
            parsed.map_err(|e| crate::parse::to_decode_error(i, e, "capability").shifted(at))?;
        caps.push(
            Capability::decode_value(code, value).map_err(|e| e.shifted(at.saturating_add(2)))?,
        );
        i = rest;
    }
    Ok(caps)
}

pub(crate) fn set_u8(out: &mut [u8], at: usize, v: u8) {
    if let Some(b) = out.get_mut(at) {
        *b = v;
    }
}

pub(crate) fn set_u32(out: &mut [u8], at: usize, v: u32) {
    if let Some(s) = out.get_mut(at..at.saturating_add(4)) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

pub(crate) fn set_u16(out: &mut [u8], at: usize, v: u16) {
    if let Some(s) = out.get_mut(at..at.saturating_add(2)) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}
