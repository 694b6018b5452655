//! How DynamoDB's failures become [`StoreError`]s.
//!
//! Whatever a client should retry later (throttling, 5xx, timeouts, lost connections) is
//! [`StoreError::Unavailable`]; everything else is [`StoreError::Internal`]. Either way the SDK's
//! error is kept whole as the source, so the one place that logs it sees AWS's code and message,
//! and nothing of it reaches a client.

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::store::StoreError;

/// What a client is told to wait before retrying after DynamoDB was unavailable.
pub(super) const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Error codes DynamoDB uses to say "too many requests, slow down", all with HTTP 400.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

/// A failure the store detects itself, kept as the source of a [`StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum DynamoError {
    /// Neither the settings nor the environment name an AWS region.
    #[error("no AWS region is configured: set the DynamoDB store's region setting or AWS_REGION")]
    NoRegion,
    /// BatchGetItem still left keys unprocessed when the operation's deadline passed.
    #[error("{remaining} keys were still unprocessed by BatchGetItem when the deadline passed")]
    UnprocessedKeys {
        /// How many keys were left.
        remaining: usize,
    },
    /// The table exists but cannot serve requests (it is being created or deleted).
    #[error("table {table:?} is {status}, not ACTIVE")]
    TableNotActive {
        /// The table.
        table: String,
        /// Its status.
        status: String,
    },
    /// A write was sent more than once (an attempt's answer was lost) and the item changed again
    /// before it could be checked: whether this write was applied cannot be told.
    #[error(
        "the write was retried after an attempt's answer was lost, and the item has changed since: it may or may not have been applied; read the user to see"
    )]
    OutcomeUnknown,
    /// The table exists with a key schema other than `id` (S) as the partition key.
    #[error("table {table:?} does not have `id` (S) as its only key")]
    WrongKeySchema {
        /// The table.
        table: String,
    },
}

/// Classifies an SDK error.
pub(super) fn store_error<E>(err: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if is_transient(&err) {
        StoreError::unavailable(err, Some(RETRY_AFTER))
    } else {
        StoreError::internal(err)
    }
}

fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    match err {
        // The operation or an attempt ran out of time, or the server hung up mid-response.
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        // Could not connect or send: transient unless our own configuration is at fault.
        SdkError::DispatchFailure(failure) => !failure.is_user(),
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || service
                    .err()
                    .code()
                    .is_some_and(|code| THROTTLING_CODES.contains(&code))
        }
        _ => false,
    }
}
