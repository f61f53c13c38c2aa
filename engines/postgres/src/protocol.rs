//! A PostgreSQL connection in physical replication mode, speaking the frontend/backend protocol
//! directly (no Rust driver has a replication mode): TCP (with TLS as `sslmode` says) or a Unix
//! socket, startup with trust, password, MD5 or SCRAM-SHA-256 authentication, simple queries, and
//! the CopyOut stream `BASE_BACKUP` answers with.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::backend::ErrorResponseBody;
use postgres_protocol::message::backend::{ErrorFields, Message};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::error::PgError;
use crate::tls::{self, Negotiated, SslMode, TlsSettings};

/// How long connecting and authenticating may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes asked of the socket at once.
const READ_CHUNK: usize = 256 * 1024;

/// Where and as whom to connect, parsed from a `postgres://user@host:port/db` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// A host name or address, or a directory holding the server's Unix socket.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
    /// TLS of TCP connections (Unix sockets are never encrypted, as in libpq).
    pub tls: TlsSettings,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("tls", &self.tls)
            .finish()
    }
}

impl ConnectionConfig {
    /// Parses a connection URL; `user` and `password` given apart win over the URL's own.
    /// A socket directory is given as `?host=/run/postgresql`; TLS as `?sslmode=verify-full` and
    /// `&sslrootcert=/path/ca.pem`.
    pub fn from_url(url: &str, user: Option<&str>, password: Option<&str>) -> Result<Self, PgError> {
        let parsed = url::Url::parse(url).map_err(|e| PgError::Config(format!("{url:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(PgError::Config(format!("{url:?} is not a postgres:// URL")));
        }
        let parameter = |name: &str| parsed.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        let socket_dir = parameter("host");
        let host = match (socket_dir, parsed.host_str()) {
            (Some(dir), _) => dir,
            (None, Some(host)) if !host.is_empty() => host.trim_matches(['[', ']']).to_owned(),
            _ => return Err(PgError::Config(format!("{url:?} names no host"))),
        };
        let url_user = (!parsed.username().is_empty()).then(|| parsed.username().to_owned());
        let user = user.map(str::to_owned).or(url_user).unwrap_or_else(|| "postgres".into());
        let password = password.map(str::to_owned).or_else(|| parsed.password().map(str::to_owned));
        let database = parsed.path().trim_start_matches('/');
        let tls = TlsSettings {
            mode: parameter("sslmode").map(|mode| SslMode::parse(&mode)).transpose()?.unwrap_or(SslMode::Prefer),
            root_cert: parameter("sslrootcert").map(Into::into),
        };
        Ok(Self {
            host,
            port: parsed.port().unwrap_or(5432),
            user,
            password,
            database: if database.is_empty() { "postgres".into() } else { database.to_owned() },
            tls,
        })
    }
}

enum Socket {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Unix(UnixStream),
}

/// One row of a result set, as text.
pub type Row = Vec<Option<String>>;

/// What the server sent inside `BASE_BACKUP`'s CopyOut stream.
#[derive(Debug)]
pub enum CopyChunk {
    /// A new tar archive starts: its name (`base.tar`) and tablespace location (empty for base).
    Archive {
        name: String,
        location: String,
    },
    /// The backup manifest follows (as data chunks).
    Manifest,
    Data(Bytes),
    /// The server's count of archive bytes done (before its compression).
    Progress(u64),
}

/// A replication connection.
pub struct ReplicationConnection {
    socket: Socket,
    read: BytesMut,
    write: BytesMut,
    parameters: HashMap<String, String>,
}

impl ReplicationConnection {
    /// Connects and authenticates with `replication=true`.
    pub async fn connect(config: &ConnectionConfig) -> Result<Self, PgError> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::connect_inner(config)).await.map_err(|_| PgError::Timeout)?
    }

    async fn connect_inner(config: &ConnectionConfig) -> Result<Self, PgError> {
        let socket = if config.host.starts_with('/') {
            let path = format!("{}/.s.PGSQL.{}", config.host.trim_end_matches('/'), config.port);
            Socket::Unix(UnixStream::connect(&path).await.map_err(|e| PgError::Unreachable(format!("{path}: {e}")))?)
        } else {
            let address = (config.host.as_str(), config.port);
            let stream = TcpStream::connect(address)
                .await
                .map_err(|e| PgError::Unreachable(format!("{}:{}: {e}", config.host, config.port)))?;
            stream.set_nodelay(true).ok();
            match tls::negotiate(stream, &config.host, &config.tls).await? {
                Negotiated::Plain(stream) => Socket::Tcp(stream),
                Negotiated::Tls(stream) => Socket::Tls(stream),
            }
        };
        let mut connection = Self {
            socket,
            read: BytesMut::with_capacity(READ_CHUNK),
            write: BytesMut::new(),
            parameters: HashMap::new(),
        };
        let parameters = [
            ("user", config.user.as_str()),
            ("database", config.database.as_str()),
            ("replication", "true"),
            ("application_name", "snapkeep"),
        ];
        frontend::startup_message(parameters, &mut connection.write).map_err(PgError::io)?;
        connection.flush().await?;
        connection.authenticate(config).await?;
        connection.await_ready().await?;
        Ok(connection)
    }

    /// A parameter the server reported at startup (`server_version`, …).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    async fn authenticate(&mut self, config: &ConnectionConfig) -> Result<(), PgError> {
        let password = || {
            config
                .password
                .as_deref()
                .ok_or_else(|| PgError::Auth("the server asks for a password; none is set".into()))
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            match self.next_message().await? {
                Message::AuthenticationOk => return Ok(()),
                Message::AuthenticationCleartextPassword => {
                    frontend::password_message(password()?.as_bytes(), &mut self.write).map_err(PgError::io)?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let hash = md5_hash(config.user.as_bytes(), password()?.as_bytes(), body.salt());
                    frontend::password_message(hash.as_bytes(), &mut self.write).map_err(PgError::io)?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = body.mechanisms();
                    let mut offered = false;
                    while let Some(mechanism) = mechanisms.next().map_err(PgError::io)? {
                        offered |= mechanism == SCRAM_SHA_256;
                    }
                    if !offered {
                        return Err(PgError::Auth("the server offers no SASL mechanism snapkeep speaks".into()));
                    }
                    let state = ScramSha256::new(password()?.as_bytes(), ChannelBinding::unsupported());
                    frontend::sasl_initial_response(SCRAM_SHA_256, state.message(), &mut self.write)
                        .map_err(PgError::io)?;
                    scram = Some(state);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let state =
                        scram.as_mut().ok_or_else(|| PgError::Protocol("SASL continue without a start".into()))?;
                    state.update(body.data()).map_err(|e| PgError::Auth(e.to_string()))?;
                    frontend::sasl_response(state.message(), &mut self.write).map_err(PgError::io)?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let state = scram.as_mut().ok_or_else(|| PgError::Protocol("SASL final without a start".into()))?;
                    state.finish(body.data()).map_err(|e| PgError::Auth(e.to_string()))?;
                    continue;
                }
                Message::ErrorResponse(body) => return Err(server_error(&body)),
                _ => return Err(PgError::Auth("the server asks for an authentication method snapkeep lacks".into())),
            }
            self.flush().await?;
        }
    }

    /// Reads parameter statuses up to the first ReadyForQuery.
    async fn await_ready(&mut self) -> Result<(), PgError> {
        loop {
            match self.next_message().await? {
                Message::ParameterStatus(body) => {
                    let name = body.name().map_err(PgError::io)?.to_owned();
                    let value = body.value().map_err(PgError::io)?.to_owned();
                    self.parameters.insert(name, value);
                }
                Message::ReadyForQuery(_) => return Ok(()),
                Message::ErrorResponse(body) => return Err(server_error(&body)),
                _ => {}
            }
        }
    }

    /// Runs a simple query (a replication command or `SHOW`) and returns its rows.
    pub async fn query(&mut self, sql: &str) -> Result<Vec<Row>, PgError> {
        self.send_query(sql).await?;
        self.finish().await
    }

    /// Sends a query whose answer is read with `result_set`, `copy_chunk` and `finish`.
    pub async fn send_query(&mut self, sql: &str) -> Result<(), PgError> {
        frontend::query(sql, &mut self.write).map_err(PgError::io)?;
        self.flush().await
    }

    /// Reads one result set; `None` when a CopyOut stream starts instead.
    pub async fn result_set(&mut self) -> Result<Option<Vec<Row>>, PgError> {
        let mut rows = Vec::new();
        loop {
            match self.next_message().await? {
                Message::DataRow(body) => rows.push(row(&body)?),
                Message::CommandComplete(_) => return Ok(Some(rows)),
                Message::CopyOutResponse(_) => return Ok(None),
                Message::ErrorResponse(body) => return Err(self.drain_error(server_error(&body)).await),
                _ => {}
            }
        }
    }

    /// The next piece of a CopyOut stream; `None` at its end.
    pub async fn copy_chunk(&mut self) -> Result<Option<CopyChunk>, PgError> {
        loop {
            match self.next_message().await? {
                Message::CopyData(body) => return copy_chunk(body.into_bytes()).map(Some),
                Message::CopyDone => return Ok(None),
                Message::ErrorResponse(body) => return Err(self.drain_error(server_error(&body)).await),
                _ => {}
            }
        }
    }

    /// Reads the rest of an answer up to ReadyForQuery (after a CopyOut stream, or all of a simple
    /// query's): the rows of its result sets.
    pub async fn finish(&mut self) -> Result<Vec<Row>, PgError> {
        let mut rows = Vec::new();
        let mut failure = None;
        loop {
            match self.next_message().await? {
                Message::DataRow(body) => rows.push(row(&body)?),
                Message::ErrorResponse(body) => failure = Some(server_error(&body)),
                Message::ReadyForQuery(_) => return failure.map_or(Ok(rows), Err),
                _ => {}
            }
        }
    }

    async fn drain_error(&mut self, error: PgError) -> PgError {
        loop {
            match self.next_message().await {
                Ok(Message::ReadyForQuery(_)) | Err(_) => return error,
                Ok(_) => {}
            }
        }
    }

    /// Ends the session politely.
    pub async fn close(mut self) {
        frontend::terminate(&mut self.write);
        let _ = self.flush().await;
    }

    async fn flush(&mut self) -> Result<(), PgError> {
        let buffer = self.write.split();
        let result = match &mut self.socket {
            Socket::Tcp(s) => s.write_all(&buffer).await,
            Socket::Tls(s) => write_flushed(s, &buffer).await,
            Socket::Unix(s) => s.write_all(&buffer).await,
        };
        result.map_err(|e| PgError::Unreachable(format!("sending to the server: {e}")))
    }

    async fn next_message(&mut self) -> Result<Message, PgError> {
        loop {
            if let Some(message) = Message::parse(&mut self.read).map_err(PgError::io)? {
                return Ok(message);
            }
            self.read.reserve(READ_CHUNK);
            let read = match &mut self.socket {
                Socket::Tcp(s) => s.read_buf(&mut self.read).await,
                Socket::Tls(s) => s.read_buf(&mut self.read).await,
                Socket::Unix(s) => s.read_buf(&mut self.read).await,
            };
            match read {
                Ok(0) => return Err(PgError::Unreachable("the server closed the connection".into())),
                Ok(_) => {}
                Err(e) => return Err(PgError::Unreachable(format!("reading from the server: {e}"))),
            }
        }
    }
}

/// TLS streams buffer what is written until flushed.
async fn write_flushed(stream: &mut tokio_rustls::client::TlsStream<TcpStream>, buffer: &[u8]) -> std::io::Result<()> {
    stream.write_all(buffer).await?;
    stream.flush().await
}

fn row(body: &postgres_protocol::message::backend::DataRowBody) -> Result<Row, PgError> {
    let buffer = body.buffer();
    let mut ranges = body.ranges();
    let mut values = Vec::new();
    while let Some(range) = ranges.next().map_err(PgError::io)? {
        values.push(range.map(|r| String::from_utf8_lossy(&buffer[r]).into_owned()));
    }
    Ok(values)
}

fn copy_chunk(mut data: Bytes) -> Result<CopyChunk, PgError> {
    if data.is_empty() {
        return Err(PgError::Protocol("an empty CopyData message".into()));
    }
    let kind = data.get_u8();
    match kind {
        b'n' => {
            let name = c_string(&mut data)?;
            let location = c_string(&mut data)?;
            Ok(CopyChunk::Archive { name, location })
        }
        b'm' => Ok(CopyChunk::Manifest),
        b'd' => Ok(CopyChunk::Data(data)),
        b'p' if data.len() >= 8 => Ok(CopyChunk::Progress(data.get_u64())),
        other => Err(PgError::Protocol(format!("unknown CopyData kind {:?}", other as char))),
    }
}

fn c_string(data: &mut Bytes) -> Result<String, PgError> {
    let end = data.iter().position(|b| *b == 0).ok_or_else(|| PgError::Protocol("an unterminated string".into()))?;
    let text = String::from_utf8_lossy(&data[..end]).into_owned();
    data.advance(end + 1);
    Ok(text)
}

fn server_error(body: &ErrorResponseBody) -> PgError {
    let mut fields: ErrorFields<'_> = body.fields();
    let (mut code, mut message) = (String::new(), String::new());
    while let Ok(Some(field)) = fields.next() {
        match field.type_() {
            b'C' => code = String::from_utf8_lossy(field.value_bytes()).into_owned(),
            b'M' => message = String::from_utf8_lossy(field.value_bytes()).into_owned(),
            _ => {}
        }
    }
    PgError::Server { code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_user_and_database() {
        let c = ConnectionConfig::from_url("postgres://rep:pw@127.0.0.1:5433/app", None, None).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.user.as_str(), c.database.as_str()), ("127.0.0.1", 5433, "rep", "app"));
        assert_eq!(c.password.as_deref(), Some("pw"));
        let c = ConnectionConfig::from_url("postgresql://db.internal", Some("backup"), Some("s")).unwrap();
        assert_eq!((c.port, c.user.as_str(), c.database.as_str()), (5432, "backup", "postgres"));
        let c = ConnectionConfig::from_url("postgres://x@localhost:6000/?host=/run/pg", None, None).unwrap();
        assert_eq!((c.host.as_str(), c.port), ("/run/pg", 6000));
        assert!(ConnectionConfig::from_url("http://h:1", None, None).is_err());
        assert!(!format!("{c:?}").contains("pw"));
    }

    #[test]
    fn tls_settings_come_from_the_url() {
        let c = ConnectionConfig::from_url("postgres://h/db", None, None).unwrap();
        assert_eq!(c.tls, TlsSettings { mode: SslMode::Prefer, root_cert: None });
        let c = ConnectionConfig::from_url("postgres://h/db?sslmode=verify-full&sslrootcert=/etc/ca.pem", None, None);
        let tls = c.unwrap().tls;
        assert_eq!(
            (tls.mode, tls.root_cert.as_deref()),
            (SslMode::VerifyFull, Some(std::path::Path::new("/etc/ca.pem")))
        );
        assert!(matches!(
            ConnectionConfig::from_url("postgres://h/db?sslmode=yes", None, None),
            Err(PgError::Config(_))
        ));
    }

    #[test]
    fn copy_data_kinds_parse() {
        let archive = copy_chunk(Bytes::from_static(b"nbase.tar\0\0")).unwrap();
        assert!(
            matches!(archive, CopyChunk::Archive { ref name, ref location } if name == "base.tar" && location.is_empty())
        );
        assert!(matches!(copy_chunk(Bytes::from_static(b"m")).unwrap(), CopyChunk::Manifest));
        let progress = copy_chunk(Bytes::from(vec![b'p', 0, 0, 0, 0, 0, 0, 1, 0])).unwrap();
        assert!(matches!(progress, CopyChunk::Progress(256)));
        assert!(matches!(copy_chunk(Bytes::from_static(b"dxyz")).unwrap(), CopyChunk::Data(d) if &d[..] == b"xyz"));
        assert!(copy_chunk(Bytes::from_static(b"q")).is_err());
    }
}
