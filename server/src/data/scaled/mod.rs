//! [`Scaled`]: the scale-out backend — PostgreSQL for every row, an S3-compatible object store
//! for the bytes, shared by any number of server replicas.
//!
//! ```text
//! PostgreSQL (one schema)       stations, provisioning_tokens, packets, uploads,
//!                               upload_chunks, request_nonces, audit_entries, audit_heads,
//!                               jobs, rate_buckets, server_identity,
//!                               schema_migrations   (schema.rs)
//! <bucket>/<prefix>/packets/<station>/<packet id>-<sha256>.espk   judged packets
//! <bucket>/<prefix>/uploads/<packet id>/<offset>-<random>.chunk    chunks of uploads
//! ```
//!
//! Nothing is coordinated between replicas but through PostgreSQL:
//! - a chunk is written to its own object first, then counted by one conditional `UPDATE`
//!   (`received = end WHERE received = offset`): of two replicas given the same chunk, one
//!   counts it and the other deletes its object and answers the offset held;
//! - a packet's object is written before its row (copied from its chunk's object when it
//!   came in one), and its row and audit entries go in one transaction with `ON CONFLICT DO
//!   NOTHING`: a packet is recorded once, and only when its bytes are durably stored; a retry
//!   after a lost answer finds the row. The transaction holds an advisory lock of the packet
//!   from before the object's write, which the sweep takes too before it deletes an object no
//!   row names (`lifecycle.rs`);
//! - rate-limit buckets are rows taken by one `INSERT … ON CONFLICT DO UPDATE`;
//! - single-use tokens by a conditional `UPDATE`, nonces by a primary key, the upload limits
//!   and audit heads under transaction-scoped advisory locks.
//!
//! A database or object store that cannot be reached answers [`DataError::Unavailable`], which
//! the HTTP layer turns into `503` with `Retry-After`: the station keeps its packet and tries
//! again.

mod lifecycle;
mod schema;
mod storage;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::prefix::PrefixStore;
use object_store::{ClientConfigKey, ObjectStore, RetryConfig};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;
use tokio_postgres_rustls::MakeRustlsConnect;
use zeroize::Zeroizing;

use super::{DataError, Identity};

/// Where the scale-out backend keeps its data.
#[derive(Clone)]
pub struct ScaledConfig {
    /// The PostgreSQL connection string (`postgres://user:password@host:port/database`, or
    /// `host=… user=… dbname=…`); it may hold a password, so it is never printed. The tables
    /// go in the connection's schema: the default `public`, or another named by
    /// `options=-c search_path=…`.
    pub database_url: Zeroizing<String>,
    /// The bucket and an optional prefix: `s3://bucket` or `s3://bucket/some/prefix`. The
    /// endpoint, region and credentials come from the standard `AWS_*` variables
    /// (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ALLOW_HTTP`), as every S3 client reads them.
    pub object_store_url: String,
    /// Connections to PostgreSQL this process holds at most.
    pub pool_size: usize,
    /// With `sslmode=require` in the URL: the CA certificate(s) (PEM) the database's
    /// certificate must chain to, instead of the public roots.
    pub database_ca: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ScaledConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaledConfig")
            .field("database_url", &"<redacted>")
            .field("object_store_url", &self.object_store_url)
            .field("pool_size", &self.pool_size)
            .field("database_ca", &self.database_ca)
            .finish()
    }
}

/// The scale-out backend: a connection pool and an object store. Cheap to clone.
#[derive(Clone)]
pub struct Scaled {
    pool: Pool,
    objects: Arc<dyn ObjectStore>,
    identity: Arc<Identity>,
}

impl std::fmt::Debug for Scaled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scaled")
            .field("objects", &self.objects.to_string())
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// How long a request waits for a database connection, and for one to be made, before it is
/// answered as unavailable.
const DATABASE_WAIT: Duration = Duration::from_secs(10);

impl Scaled {
    /// Connects to the database and the object store, brings the schema up to date and checks
    /// that the database was set up with this server's keys (the first replica to start
    /// records them; every other must hold the same `keys/`).
    ///
    /// # Errors
    /// A malformed configuration ([`DataError::Config`]), a database or bucket that cannot
    /// be reached ([`DataError::Unavailable`]), a newer schema ([`DataError::TooNew`]), or
    /// other keys than the database's ([`DataError::KeysDiffer`]).
    pub async fn connect(config: &ScaledConfig, identity: Identity) -> Result<Self, DataError> {
        let pool = pool(config)?;
        let objects = object_store(&config.object_store_url)?;
        let scaled = Self {
            pool,
            objects,
            identity: Arc::new(identity),
        };
        let mut client = scaled.client().await?;
        schema::migrate(&mut client).await?;
        let fingerprint = scaled.identity.fingerprint();
        client
            .execute(
                "INSERT INTO server_identity (fingerprint) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&fingerprint],
            )
            .await
            .map_err(database)?;
        drop(client);
        let recorded = scaled.recorded_fingerprint().await?;
        if recorded != fingerprint {
            return Err(DataError::KeysDiffer {
                ours: fingerprint,
                recorded,
            });
        }
        Ok(scaled)
    }

    /// Records this server's keys as the ones the database was set up with, after a
    /// deliberate change of keys (copy the new `keys/` to every replica, then run this once).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), but for keys that differ.
    pub async fn adopt_keys(config: &ScaledConfig, identity: Identity) -> Result<(), DataError> {
        let fingerprint = identity.fingerprint();
        match Self::connect(config, identity).await {
            Err(DataError::KeysDiffer { .. }) => {}
            other => return other.map(|_| ()),
        }
        let client = pool(config)?.get().await.map_err(pool_error)?;
        client
            .execute(
                "UPDATE server_identity SET fingerprint = $1",
                &[&fingerprint],
            )
            .await
            .map_err(database)?;
        Ok(())
    }

    /// The fingerprint of the keys the database records ([`Identity::fingerprint`]).
    pub(super) async fn recorded_fingerprint(&self) -> Result<String, DataError> {
        self.client()
            .await?
            .query_one("SELECT fingerprint FROM server_identity", &[])
            .await
            .map_err(database)?
            .try_get(0)
            .map_err(database)
    }

    /// A pooled database connection.
    async fn client(&self) -> Result<deadpool_postgres::Client, DataError> {
        self.pool.get().await.map_err(pool_error)
    }
}

fn pool_error(error: PoolError) -> DataError {
    match error {
        PoolError::Backend(error) => database(error),
        other => DataError::Unavailable(format!("database: {other}")),
    }
}

/// A pool of connections to the database `config` names, over TLS when its URL says
/// `sslmode=require`; none is made until one is asked for.
fn pool(config: &ScaledConfig) -> Result<Pool, DataError> {
    let mut pg: tokio_postgres::Config = config
        .database_url
        .parse()
        .map_err(|error| DataError::Config(format!("the database URL is not valid: {error}")))?;
    pg.connect_timeout(Duration::from_secs(5));
    pg.keepalives(true);
    pg.keepalives_idle(Duration::from_secs(30));
    // A database that stops answering (a partition, a failover) fails a request within
    // seconds, answered 503, instead of holding it and the locks it took: no statement runs
    // longer than 30 s, no lock is waited for longer than 10 s, no transaction idles open.
    let options = format!(
        "{} -c statement_timeout=30000 -c lock_timeout=10000 \
         -c idle_in_transaction_session_timeout=60000",
        pg.get_options().unwrap_or_default()
    );
    pg.options(options.trim());
    if pg.get_application_name().is_none() {
        pg.application_name("enrollment-server");
    }
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if pg.get_ssl_mode() == SslMode::Require {
        Manager::from_config(pg, database_tls(config)?, manager_config)
    } else {
        if !config.database_url.contains("sslmode=disable") && !on_this_machine(&pg) {
            tracing::warn!(
                "the connection to PostgreSQL is not encrypted: add sslmode=require to the \
                 database URL (and the database's CA with --database-ca)"
            );
        }
        Manager::from_config(pg, NoTls, manager_config)
    };
    Pool::builder(manager)
        .max_size(config.pool_size.max(1))
        .wait_timeout(Some(DATABASE_WAIT))
        .create_timeout(Some(DATABASE_WAIT))
        .recycle_timeout(Some(DATABASE_WAIT))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|error| DataError::Config(format!("the database pool: {error}")))
}

/// Whether every host of `pg` is a Unix socket or a loopback address.
fn on_this_machine(pg: &tokio_postgres::Config) -> bool {
    pg.get_hosts().iter().all(|host| match host {
        Host::Tcp(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|address| address.is_loopback())
        }
        Host::Unix(_) => true,
    })
}

/// TLS for the database connection: the database's certificate must chain to the CA in
/// `config.database_ca` (PEM) when one is given, to the public roots otherwise, and name the
/// host connected to — unlike libpq's `require`, which checks neither.
fn database_tls(config: &ScaledConfig) -> Result<MakeRustlsConnect, DataError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    match &config.database_ca {
        Some(path) => {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|error| {
                    DataError::Config(format!(
                        "the database CA file {} cannot be read: {error}",
                        path.display()
                    ))
                })?;
            let (added, _) = roots.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(DataError::Config(format!(
                    "the database CA file {} holds no certificate",
                    path.display()
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| DataError::Config(format!("TLS to the database: {error}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(tls))
}

/// The object store named by `url` (`s3://bucket[/prefix]`), with the `AWS_*` variables.
fn object_store(url: &str) -> Result<Arc<dyn ObjectStore>, DataError> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| {
        DataError::Config(format!(
            "the object store {url:?} is not an s3://bucket[/prefix] URL"
        ))
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(DataError::Config(format!(
            "the object store URL {url:?} names no bucket"
        )));
    }
    let store = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        // Set key by key: replacing the client options would drop AWS_ALLOW_HTTP and the like.
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
            "5 seconds",
        )
        .with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
            "60 seconds",
        )
        // A few quick retries of a request, then the station is told to try again later:
        // never minutes inside one HTTP request.
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
            ..RetryConfig::default()
        })
        .build()
        .map_err(|error| DataError::Config(format!("the object store {url:?}: {error}")))?;
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() {
        Arc::new(store)
    } else {
        Arc::new(PrefixStore::new(store, prefix))
    })
}

/// A database error: the ones that say "not now" (no connection, the server shutting down,
/// out of resources, a serialization failure) are [`DataError::Unavailable`].
pub(in crate::data) fn database(error: tokio_postgres::Error) -> DataError {
    let retryable = match error.code() {
        Some(code) => {
            // Connection (08), transaction rollback: serialization, deadlock (40), resources
            // (53), operator intervention, shutdown, timeouts (57), system (58); a lock not
            // had in time (55P03) and a read-only server after a failover (25006).
            let class = &code.code()[..2];
            matches!(class, "08" | "40" | "53" | "57" | "58")
                || *code == SqlState::LOCK_NOT_AVAILABLE
                || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        }
        None => {
            error.is_closed()
                || std::error::Error::source(&error).is_some_and(|s| s.is::<std::io::Error>())
        }
    };
    let text = describe(&error);
    if retryable {
        DataError::Unavailable(format!("database: {text}"))
    } else {
        DataError::Database(text)
    }
}

/// What went wrong, with its causes (a TLS handshake's "invalid peer certificate", a refused
/// connection); of a database's own error, its code and message only — never its DETAIL, which
/// may quote a row's values.
fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// An object store error other than "not found", which callers handle: unavailable.
pub(super) fn objects(error: object_store::Error) -> DataError {
    DataError::Unavailable(format!("object store: {error}"))
}
