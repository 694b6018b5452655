//! Start-up: build the store, the cache and the router once, then serve them over HTTP or Lambda.

use std::sync::Arc;

use anyhow::Context as _;
use clearance_core::cache::CachedStore;
use clearance_core::domain::{Permissions, UserId};
use clearance_core::store::dynamodb::DynamoStore;
use clearance_core::store::measured::Measured;
use clearance_core::store::{Author, PermissionStore, Precondition, StoreError};
use clearance_middleware::serve;
use serde::Deserialize;

use clearance_core::store::dynamodb::DynamoError;
use clearance_core::store::embedded::{EmbeddedStore, OpenError};

use crate::config::{SettingError, Settings, StoreArgs, StoreKind};
use crate::state::AppState;

/// The sample data set loaded into an empty embedded store (the same file the seed CLI uses).
pub const SAMPLE_USERS: &str = include_str!("../../seed/data/users.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SampleUser {
    id: String,
    companies: Vec<String>,
    role: String,
}

/// Builds the application state: the configured store (see [`crate::config::StoreArgs`]) with the
/// cache in front. An empty embedded store gets the sample data (if asked); a DynamoDB table never
/// does, and is checked once: a table that cannot be used (missing, wrong key, no permission) stops
/// start-up, while an unreachable DynamoDB only warns, since the service recovers when it is back.
pub async fn build_state(settings: &Settings) -> anyhow::Result<AppState> {
    crate::telemetry::metrics_recorder();
    let auth = crate::http::auth::Auth::from_args(&settings.auth, Settings::on_lambda())
        .map_err(anyhow::Error::msg)?;
    let cursor_key = settings.cursor_key()?;
    if cursor_key.is_secret() {
        tracing::info!("pagination cursors are signed with the cursor secret");
    } else {
        tracing::info!(
            "no cursor secret (--cursor-secret / CLEARANCE_CURSOR_SECRET): pagination cursors \
             are checked for corruption, not against forgery"
        );
    }
    let mut state = build_store_state(settings).await?;
    state.auth = Arc::new(auth);
    state.cursor_key = Arc::new(cursor_key);
    state.admin =
        crate::http::admin::Admin::from_args(&settings.admin, &settings.auth, &settings.roles)
            .map(Arc::new);
    Ok(state)
}

/// The state over the configured store, before authentication is added.
async fn build_store_state(settings: &Settings) -> anyhow::Result<AppState> {
    match open_store(&settings.store).await? {
        Store::Embedded(store) => {
            if settings.sample_data && store.is_empty().await? {
                let count = load_sample_data(&store, settings).await?;
                tracing::info!(
                    users = count,
                    data_dir = %settings.store.location.data_dir.display(),
                    "the store was empty: loaded the sample users from seed/data/users.json"
                );
            }
            Ok(with_cache(store, settings))
        }
        Store::Dynamo(store) => {
            check_table(&store).await?;
            Ok(with_cache(store, settings))
        }
    }
}

/// Asks DynamoDB once whether the table can be used.
async fn check_table(store: &DynamoStore) -> anyhow::Result<()> {
    match store.ready().await {
        Ok(()) => {
            let bound = store.scan_bound();
            tracing::info!(
                table = store.table(),
                list_scan_pages = bound.pages,
                list_scan_page_items = bound.page_items,
                "using the DynamoDB table"
            );
            Ok(())
        }
        Err(err @ StoreError::Unavailable { .. }) => {
            tracing::warn!(
                table = store.table(),
                cause = %crate::http::problem::error_chain(&err),
                "DynamoDB did not answer at start-up; serving anyway (503 until it does)"
            );
            Ok(())
        }
        Err(err) => Err(anyhow::Error::new(err).context(format!(
            "the DynamoDB table {:?} (--table / TABLE_NAME) cannot be used: check its name, its \
             region (--region / AWS_REGION) and the IAM permissions, or pass --create-table \
             to create it",
            store.table()
        ))),
    }
}

/// Puts the configured cache (if any) in front of `store`, with the store's calls measured
/// under the cache (so a hit costs no measurement).
pub fn with_cache<S: PermissionStore>(store: S, settings: &Settings) -> AppState {
    crate::telemetry::metrics_recorder();
    let store = Measured::new(store);
    match settings.cache() {
        Some(cache_settings) => {
            let cached = Arc::new(CachedStore::new(store, cache_settings));
            let stats = cached.clone();
            let mut state = AppState::new(cached, settings.roles.clone());
            state.cache_stats = Some(Arc::new(move || stats.stats()));
            state
        }
        None => AppState::new(Arc::new(store), settings.roles.clone()),
    }
}

async fn load_sample_data(
    store: &dyn PermissionStore,
    settings: &Settings,
) -> anyhow::Result<usize> {
    let users: Vec<SampleUser> =
        serde_json::from_str(SAMPLE_USERS).context("parsing the bundled sample data")?;
    for user in &users {
        let id = UserId::parse(&user.id)?;
        let permissions =
            Permissions::parse(user.companies.clone(), user.role.clone(), &settings.roles)
                .with_context(|| {
                    format!(
                        "sample user {:?} does not fit the configured roles",
                        user.id
                    )
                })?;
        store
            .put(
                &id,
                &permissions,
                Precondition::MustNotExist,
                Author::actor(Some("sample-data")),
            )
            .await?;
    }
    Ok(users.len())
}

/// Runs the service until SIGTERM or Ctrl-C (server), or for the life of the Lambda sandbox.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let on_lambda = Settings::on_lambda();
    if !on_lambda {
        settings.check_listen().map_err(anyhow::Error::msg)?;
    }
    let state = build_state(&settings).await?;
    let cache_stats = state.cache_stats.clone();
    let mut app = crate::app(state);
    if on_lambda {
        // The figures of each invocation as CloudWatch EMF lines, written before the answer
        // leaves (the sandbox may be frozen as soon as it has).
        app = app.layer(axum::middleware::map_response(
            move |response: axum::response::Response| {
                if let Some(stats) = &cache_stats {
                    stats();
                }
                clearance_core::telemetry::flush_emf();
                std::future::ready(response)
            },
        ));
    }
    serve::run(app, settings.listen, on_lambda, "Clearance permissions API").await?;
    Ok(())
}

/// Opening the configured store failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenStoreError {
    /// The settings are incomplete or contradictory.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The embedded store could not be opened.
    #[error("opening the embedded store in --data-dir {dir}")]
    Embedded {
        /// The data directory.
        dir: String,
        /// Why.
        #[source]
        source: OpenError,
    },
    /// The DynamoDB client could not be configured.
    #[error("configuring the DynamoDB client for table {table:?}")]
    Dynamo {
        /// The table.
        table: String,
        /// Why.
        #[source]
        source: DynamoError,
    },
    /// `--create-table` failed.
    #[error("creating the DynamoDB table {table:?} (--create-table)")]
    CreateTable {
        /// The table.
        table: String,
        /// Why.
        #[source]
        source: clearance_core::store::StoreError,
    },
}

/// The store the settings chose, opened.
pub enum Store {
    /// The embedded (redb) store.
    Embedded(EmbeddedStore),
    /// The DynamoDB store.
    Dynamo(DynamoStore),
}

impl Store {
    /// The store behind the store trait, whichever it is.
    pub fn shared(self) -> Arc<dyn PermissionStore> {
        match self {
            Self::Embedded(store) => Arc::new(store),
            Self::Dynamo(store) => Arc::new(store),
        }
    }
}

/// Opens the chosen store: the embedded store in the data directory, or a DynamoDB client
/// for the table (credentials from the SDK's default chain), first creating the table when
/// `--create-table` asks for it. Nothing is loaded into it.
pub async fn open_store(args: &StoreArgs) -> Result<Store, OpenStoreError> {
    args.check()?;
    match args.kind() {
        StoreKind::Embedded => EmbeddedStore::open(&args.location.data_dir)
            .map(Store::Embedded)
            .map_err(|source| OpenStoreError::Embedded {
                dir: args.location.data_dir.display().to_string(),
                source,
            }),
        StoreKind::Dynamodb => {
            let settings = args.dynamo_settings()?;
            let store = DynamoStore::connect(&settings)
                .await
                .map(|store| store.with_scan_bound(args.dynamo.scan_bound()))
                .map_err(|source| match source {
                    DynamoError::NoRegion => OpenStoreError::Setting(SettingError(
                        "--store dynamodb needs a region: pass --region or set AWS_REGION \
                         (or a region in the AWS profile)"
                            .into(),
                    )),
                    source => OpenStoreError::Dynamo {
                        table: settings.table.clone(),
                        source,
                    },
                })?;
            if args.create_table {
                let created =
                    store
                        .create_table()
                        .await
                        .map_err(|source| OpenStoreError::CreateTable {
                            table: settings.table.clone(),
                            source,
                        })?;
                if created {
                    tracing::info!(table = %settings.table, "created the DynamoDB table; it is active");
                } else {
                    tracing::info!(table = %settings.table, "the DynamoDB table exists already; it is active");
                }
            }
            Ok(Store::Dynamo(store))
        }
    }
}
