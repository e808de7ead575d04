//! The first exchange of Oracle's TNS protocol: a CONNECT packet with a connect descriptor, and
//! the listener's answer (ACCEPT, REFUSE, REDIRECT or RESEND).
//!
//! Every packet starts with an 8-byte header: length (u16, big-endian), packet checksum (0),
//! type, flags, header checksum (0). The CONNECT body carries the protocol version (314) and the
//! oldest compatible one (300), service options, SDU and TDU sizes, the NT protocol
//! characteristics, line turnaround, "value of 1 in hardware" (byte order), the length and offset
//! (58) of the connect data, the largest connect data the client takes, and connect flags.
//! Connect data longer than 230 bytes follows in a DATA packet. The layouts are the public ones
//! (Wireshark's TNS dissector and the open-source thin drivers).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Packet types.
pub mod packet {
    /// CONNECT, client to listener.
    pub const CONNECT: u8 = 1;
    /// ACCEPT: the service took the connection.
    pub const ACCEPT: u8 = 2;
    /// REFUSE: the listener or service said no, with a reason.
    pub const REFUSE: u8 = 4;
    /// REDIRECT: connect to another address.
    pub const REDIRECT: u8 = 5;
    /// DATA.
    pub const DATA: u8 = 6;
    /// RESEND: send the CONNECT again.
    pub const RESEND: u8 = 11;
}

const HEADER_LEN: usize = 8;
/// The protocol version offered.
pub const VERSION: u16 = 314;
/// The oldest version the client speaks.
pub const COMPATIBLE_VERSION: u16 = 300;
const SERVICE_OPTIONS: u16 = 0x0C41;
const SDU: u16 = 8192;
const TDU: u16 = 32767;
const NT_PROTOCOL_CHARACTERISTICS: u16 = 0x4F98;
const VALUE_OF_ONE: u16 = 0x0100;
/// Where the connect data starts in a CONNECT packet.
pub const CONNECT_DATA_OFFSET: u16 = 58;
/// Connect data longer than this is sent in a DATA packet after the CONNECT.
const MAX_INLINE_CONNECT_DATA: usize = 230;
/// Answers longer than this are not read.
const MAX_PACKET: usize = 64 * 1024;

fn header(len: usize, type_: u8) -> Vec<u8> {
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    let mut h = Vec::with_capacity(len as usize);
    h.extend_from_slice(&len.to_be_bytes());
    h.extend_from_slice(&[0, 0, type_, 0, 0, 0]);
    h
}

/// The packets that open a connection with `connect_data`: one CONNECT, plus a DATA packet when
/// the data is too long to travel inline.
pub fn connect_packets(connect_data: &str) -> Vec<Vec<u8>> {
    let data = connect_data.as_bytes();
    let inline = data.len() <= MAX_INLINE_CONNECT_DATA;
    let total = CONNECT_DATA_OFFSET as usize + if inline { data.len() } else { 0 };
    let mut p = header(total, packet::CONNECT);
    for v in [
        VERSION,
        COMPATIBLE_VERSION,
        SERVICE_OPTIONS,
        SDU,
        TDU,
        NT_PROTOCOL_CHARACTERISTICS,
        0, // line turnaround
        VALUE_OF_ONE,
        u16::try_from(data.len()).unwrap_or(u16::MAX),
        CONNECT_DATA_OFFSET,
    ] {
        p.extend_from_slice(&v.to_be_bytes());
    }
    p.extend_from_slice(&0u32.to_be_bytes()); // max receivable connect data
    p.extend_from_slice(&[0, 0]); // connect flags 0 and 1
    p.resize(CONNECT_DATA_OFFSET as usize, 0); // trace items and unique connection id
    if inline {
        p.extend_from_slice(data);
        return vec![p];
    }
    let mut d = header(HEADER_LEN + 2 + data.len(), packet::DATA);
    d.extend_from_slice(&[0, 0]); // data flags
    d.extend_from_slice(data);
    vec![p, d]
}

/// What the listener answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The service accepted; the version the server chose.
    Accepted {
        /// TNS version.
        version: u16,
    },
    /// The listener refused, with the Oracle error code from `(ERR=...)` when given.
    Refused {
        /// `ORA-` number.
        code: Option<u32>,
        /// The refuse data, as sent.
        text: String,
    },
    /// Connect to another address, with the connect data to send there.
    Redirect {
        /// Host to connect to.
        host: String,
        /// Port to connect to.
        port: u16,
        /// Connect data for the new address, when the redirect carries one.
        connect_data: Option<String>,
    },
    /// Send the CONNECT again.
    Resend,
    /// A packet of another type.
    Unexpected(u8),
}

/// One packet: its type and the whole packet, header included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The packet type.
    pub type_: u8,
    /// Header and body.
    pub bytes: Vec<u8>,
}

/// Reads one packet.
pub async fn read_packet(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Packet> {
    let mut head = [0u8; HEADER_LEN];
    stream.read_exact(&mut head).await?;
    let len = u16::from_be_bytes([head[0], head[1]]) as usize;
    if !(HEADER_LEN..=MAX_PACKET).contains(&len) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("a TNS packet of {len} bytes")));
    }
    let mut bytes = head.to_vec();
    bytes.resize(len, 0);
    stream.read_exact(&mut bytes[HEADER_LEN..]).await?;
    Ok(Packet { type_: head[4], bytes })
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The data of a REFUSE or REDIRECT: `len` bytes at `at`, or what the packet has of them.
fn data_at(b: &[u8], len_at: usize, at: usize) -> String {
    let len = u16_at(b, len_at).unwrap_or(0) as usize;
    let end = (at + len).min(b.len());
    String::from_utf8_lossy(b.get(at..end).unwrap_or_default()).into_owned()
}

/// The value of `(KEY=value)` in a descriptor, keys compared without case.
pub fn descriptor_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let upper = text.to_ascii_uppercase();
    let start = upper.find(&format!("({}=", key.to_ascii_uppercase()))? + key.len() + 2;
    let end = text[start..].find(')')? + start;
    Some(text[start..end].trim())
}

/// Reads an answer packet; `more` is the DATA packet that follows a REDIRECT whose data did not
/// fit, if any.
pub fn parse(p: &Packet, more: Option<&Packet>) -> Answer {
    let b = &p.bytes;
    match p.type_ {
        packet::ACCEPT => Answer::Accepted { version: u16_at(b, 8).unwrap_or(0) },
        packet::REFUSE => {
            let text = data_at(b, 10, 12);
            let code = descriptor_value(&text, "ERR").and_then(|c| c.parse().ok());
            Answer::Refused { code, text }
        }
        packet::REDIRECT => {
            let mut data = data_at(b, 8, 10);
            if data.is_empty()
                && let Some(d) = more.filter(|d| d.type_ == packet::DATA)
            {
                data = String::from_utf8_lossy(d.bytes.get(HEADER_LEN + 2..).unwrap_or_default()).into_owned();
            }
            // `(ADDRESS=...)` optionally followed by a NUL and the connect data to send there.
            let (address, connect_data) = match data.split_once('\0') {
                Some((a, c)) if !c.trim_matches('\0').is_empty() => {
                    (a.to_owned(), Some(c.trim_matches('\0').to_owned()))
                }
                Some((a, _)) => (a.to_owned(), None),
                None => (data.clone(), None),
            };
            let host = descriptor_value(&address, "HOST").unwrap_or_default().to_owned();
            let port = descriptor_value(&address, "PORT").and_then(|p| p.parse().ok()).unwrap_or(0);
            Answer::Redirect { host, port, connect_data }
        }
        packet::RESEND => Answer::Resend,
        other => Answer::Unexpected(other),
    }
}

/// Whether a REDIRECT's payload is in a DATA packet that follows it.
pub fn redirect_needs_data(p: &Packet) -> bool {
    p.type_ == packet::REDIRECT && data_at(&p.bytes, 8, 10).is_empty() && u16_at(&p.bytes, 8).unwrap_or(0) > 0
}

/// What an `ORA-` code from a REFUSE means, for messages.
pub fn describe(code: u32) -> &'static str {
    match code {
        12514 => "the listener does not know the service name",
        12505 => "the listener does not know the SID",
        12516 | 12519 => "no service handler can take the connection",
        12520 => "no handler of the needed server type is available",
        12526 | 12527 => "the instance is in restricted mode",
        12528 => "every instance of the service is blocking new connections",
        12506 | 12508 | 12509 | 12510 => "the listener refused the connection",
        _ => "the listener or service refused the connection",
    }
}

/// Sends `packets` on `stream`.
pub async fn send(stream: &mut (impl AsyncWrite + Unpin), packets: &[Vec<u8>]) -> std::io::Result<()> {
    for p in packets {
        stream.write_all(p).await?;
    }
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_the_connect_packet() {
        let data = "(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=X)))";
        let packets = connect_packets(data);
        assert_eq!(packets.len(), 1);
        let p = &packets[0];
        assert_eq!(u16_at(p, 0), Some((58 + data.len()) as u16));
        assert_eq!(p[4], packet::CONNECT);
        assert_eq!(u16_at(p, 8), Some(314));
        assert_eq!(u16_at(p, 10), Some(300));
        assert_eq!(u16_at(p, 22), Some(1 << 8));
        assert_eq!(u16_at(p, 24), Some(data.len() as u16));
        assert_eq!(u16_at(p, 26), Some(58));
        assert_eq!(&p[58..], data.as_bytes());
    }

    #[test]
    fn long_connect_data_goes_in_a_data_packet() {
        let data = format!("(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME={})))", "S".repeat(300));
        let packets = connect_packets(&data);
        assert_eq!(packets.len(), 2);
        assert_eq!(u16_at(&packets[0], 0), Some(58));
        assert_eq!(u16_at(&packets[0], 24), Some(data.len() as u16));
        assert_eq!(packets[1][4], packet::DATA);
        assert_eq!(&packets[1][10..], data.as_bytes());
    }

    #[test]
    fn reads_descriptor_values() {
        let t = "(DESCRIPTION=(TMP=)(VSNNUM=0)(ERR=12514)(ERROR_STACK=(ERROR=(CODE=12514)(EMFI=4))))";
        assert_eq!(descriptor_value(t, "err"), Some("12514"));
        assert_eq!(descriptor_value(t, "HOST"), None);
    }
}
