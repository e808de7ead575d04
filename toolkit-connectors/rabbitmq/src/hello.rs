//! The start of an AMQP 0-9-1 handshake, far enough to read what the server says about itself:
//! the client sends the protocol header and the server answers with `Connection.Start`, whose
//! properties hold the product and version. Nothing is authenticated.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use lapin::AsyncTcpStream;
use lapin::protocol::{AMQPClass, connection};
use lapin::types::FieldTable;

use crate::config::RabbitConfig;
use crate::tls;

/// `AMQP` 0-9-1.
const PROTOCOL_HEADER: &[u8] = b"AMQP\x00\x00\x09\x01";

/// A `Connection.Start` frame is a few hundred bytes; anything far larger is not one.
const MAX_FRAME: usize = 64 * 1024;

/// Connects, sends the protocol header and returns the server properties of `Connection.Start`.
pub(crate) async fn read_start(config: &RabbitConfig) -> std::io::Result<FieldTable> {
    let runtime = lapin::runtime::default_runtime().map_err(std::io::Error::other)?;
    let addrs: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((config.host.as_str(), config.port)).await?.collect();
    let mut stream = AsyncTcpStream::connect(&runtime, addrs).await?;
    if config.tls {
        let connector = tls::connector(config).await.map_err(std::io::Error::other)?;
        stream = stream.into_rustls(&connector, &config.host).await?;
    }
    stream.write_all(PROTOCOL_HEADER).await?;
    stream.flush().await?;
    let mut frame = vec![0u8; 7];
    stream.read_exact(&mut frame).await?;
    if frame.starts_with(b"AMQP") {
        return Err(invalid("the server does not speak AMQP 0-9-1"));
    }
    let size = u32::from_be_bytes([frame[3], frame[4], frame[5], frame[6]]) as usize;
    if frame[0] != 1 || size > MAX_FRAME {
        return Err(invalid("the server did not answer with an AMQP method frame"));
    }
    frame.resize(7 + size + 1, 0);
    stream.read_exact(&mut frame[7..]).await?;
    let _ = stream.close().await;
    parse_start(&frame)
}

/// The server properties of a `Connection.Start` frame.
pub(crate) fn parse_start(frame: &[u8]) -> std::io::Result<FieldTable> {
    match amq_protocol::frame::parse_frame(frame) {
        Ok((_, amq_protocol::frame::AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Start(s))))) => {
            Ok(s.server_properties)
        }
        Ok(_) => Err(invalid("the server's first frame is not Connection.Start")),
        Err(_) => Err(invalid("the server's first frame does not parse")),
    }
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_owned())
}
