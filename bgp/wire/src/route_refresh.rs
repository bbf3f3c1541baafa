//! ROUTE-REFRESH (RFC 2918) with the RFC 7313 subtypes.

use serde::Serialize;

use crate::parse::{DecodeError, ErrorKind};
use crate::types::AfiSafi;

/// Subtype values (RFC 7313 §3.2).
pub mod subtype {
    /// Normal route refresh request.
    pub const NORMAL: u8 = 0;
    /// Beginning of Route Refresh.
    pub const BORR: u8 = 1;
    /// End of Route Refresh.
    pub const EORR: u8 = 2;
}

/// A ROUTE-REFRESH message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RouteRefresh {
    /// The family.
    pub afi_safi: AfiSafi,
    /// 0 request, 1 BoRR, 2 EoRR.
    pub subtype: u8,
    /// Outbound Route Filtering entries (RFC 5291), kept raw.
    pub orf: Vec<u8>,
}

impl RouteRefresh {
    /// A normal request for one family.
    pub fn request(afi_safi: AfiSafi) -> RouteRefresh {
        RouteRefresh {
            afi_safi,
            subtype: subtype::NORMAL,
            orf: vec![],
        }
    }

    /// Decodes the body. A body shorter than 4 octets, or a BoRR / EoRR longer than 4, is the
    /// RFC 7313 "Invalid Message Length" (7/1).
    pub fn decode(body: &[u8]) -> Result<RouteRefresh, DecodeError> {
        match body {
            // RFC 7313 §5: a BoRR or EoRR whose body is not exactly 4 octets is "Invalid
            // Message Length" (7/1). (Fix: the extra octets were taken as ORF entries, which
            // only a normal request carries.)
            [_, _, st, _, _, ..] if *st == subtype::BORR || *st == subtype::EORR => {
                Err(DecodeError::new(4, "route-refresh", ErrorKind::Trailing))
            }
            [a0, a1, st, safi, orf @ ..] => Ok(RouteRefresh {
                afi_safi: AfiSafi::new(u16::from_be_bytes([*a0, *a1]), *safi),
                subtype: *st,
                orf: orf.to_vec(),
            }),
            _ => Err(DecodeError::new(
                body.len(),
                "route-refresh",
                ErrorKind::Truncated,
            )),
        }
    }

    /// Appends the body.
    pub fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.afi_safi.afi.to_be_bytes());
        out.push(self.subtype);
        out.push(self.afi_safi.safi);
        out.extend_from_slice(&self.orf);
    }
}
