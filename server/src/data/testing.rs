//! The backend the workspace's tests run on, chosen by the environment, so that the same
//! tests run against both backends (`scripts/test.sh` runs them twice).

use std::path::Path;
use std::sync::Arc;

use super::{DataError, Identity, Scaled, ScaledConfig, ServerData, Storage};

/// Which backend: `embedded` (the default) or `scaled`.
pub const BACKEND_VARIABLE: &str = "ENROLLMENT_SERVER_TEST_BACKEND";
/// With `scaled`: the PostgreSQL server (a database the tests may make schemas in), as a
/// `postgres://` URL.
pub const DATABASE_VARIABLE: &str = "ENROLLMENT_SERVER_TEST_DATABASE_URL";
/// With `scaled`: the bucket, `s3://bucket`, reached with the `AWS_*` variables.
pub const OBJECT_STORE_VARIABLE: &str = "ENROLLMENT_SERVER_TEST_OBJECT_STORE";
/// With `scaled`, optional: the CA (PEM) of the database's TLS certificate, for URLs that say
/// `sslmode=require`.
pub const DATABASE_CA_VARIABLE: &str = "ENROLLMENT_SERVER_TEST_DATABASE_CA";

/// Where a test server whose files are in `dir` keeps its data with the scale-out backend,
/// `None` with the embedded one. Each `dir` gets a PostgreSQL schema (made here) and a bucket
/// prefix of its own, named after `dir`: the same `dir` again (a restarted server, or the
/// `enrollment-server` binary given the same settings) finds the same data, and tests running
/// at once do not meet.
///
/// # Errors
/// A misspelt backend or a missing variable is an error, never a silent fallback to the
/// embedded backend; so is a database that cannot be reached.
pub async fn scaled_config(dir: &Path) -> Result<Option<ScaledConfig>, DataError> {
    let backend = std::env::var(BACKEND_VARIABLE).unwrap_or_else(|_| "embedded".into());
    match backend.as_str() {
        "embedded" => return Ok(None),
        "scaled" => {}
        other => {
            return Err(DataError::Config(format!(
                "{BACKEND_VARIABLE} is {other:?}; it is embedded or scaled"
            )))
        }
    }
    let variable = |name: &str| {
        std::env::var(name)
            .map_err(|_| DataError::Config(format!("{BACKEND_VARIABLE}=scaled needs {name}")))
    };
    let database_url = variable(DATABASE_VARIABLE)?;
    let bucket = variable(OBJECT_STORE_VARIABLE)?;
    separate_config(&database_url, &bucket, dir).await.map(Some)
}

/// Settings for the scale-out backend on the PostgreSQL server `database_url` and the bucket
/// `bucket` (`s3://bucket`) whose data is kept apart for `dir`: a schema (made here) and a
/// bucket prefix named after `dir`.
///
/// # Errors
/// When the database cannot be reached or the schema made.
pub async fn separate_config(
    database_url: &str,
    bucket: &str,
    dir: &Path,
) -> Result<ScaledConfig, DataError> {
    let name = format!(
        "test_{}",
        &protocol::packet::sha256_hex(dir.as_os_str().as_encoded_bytes())[..24]
    );
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .map_err(super::scaled::database)?;
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {name}"))
        .await
        .map_err(super::scaled::database)?;
    drop(client);
    let _ = connection.await;
    let separator = if database_url.contains('?') { '&' } else { '?' };
    Ok(ScaledConfig {
        database_url: format!("{database_url}{separator}options=-c%20search_path%3D{name}").into(),
        object_store_url: format!("{}/{name}", bucket.trim_end_matches('/')),
        pool_size: 8,
        database_ca: std::env::var_os(DATABASE_CA_VARIABLE).map(std::path::PathBuf::from),
    })
}

/// Storage for a test's server whose files (keys, forms; with the embedded backend
/// everything) are in `dir`, on the backend [`BACKEND_VARIABLE`] names (see
/// [`scaled_config`]).
///
/// # Errors
/// When the backend cannot be opened.
pub async fn open_for_tests(dir: &Path) -> Result<Arc<dyn Storage>, DataError> {
    match scaled_config(dir).await? {
        None => Ok(Arc::new(ServerData::open(dir)?)),
        Some(config) => {
            std::fs::create_dir_all(dir)
                .map_err(super::io(format!("cannot create {}", dir.display())))?;
            let identity = Identity::load_or_create(dir)?;
            Ok(Arc::new(Scaled::connect(&config, identity).await?))
        }
    }
}
