//! SigV4 request signing with `aws-sigv4`, for an API Gateway (or a function URL) protected by IAM.
//!
//! Each attempt is signed afresh (the signature covers `x-amz-date`). Credentials come from the
//! configured provider or, by default, the AWS default chain (loaded once, on first use); they are
//! reused until five minutes before they expire, so a container or instance-metadata provider is
//! not asked on every request.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use super::config::SigV4;
use super::error::ClientError;

/// Renew credentials this long before they expire.
const CREDENTIALS_EARLY: Duration = Duration::from_secs(300);

/// Signs requests; holds the credentials between requests.
pub(crate) struct Signer {
    region: String,
    service: String,
    provider: tokio::sync::OnceCell<SharedCredentialsProvider>,
    credentials: tokio::sync::Mutex<Option<Credentials>>,
}

fn signing_error(
    reason: &'static str,
    source: impl std::error::Error + Send + Sync + 'static,
) -> ClientError {
    ClientError::Signing {
        reason,
        source: Some(Arc::new(source)),
    }
}

impl Signer {
    pub(crate) fn new(config: SigV4) -> Self {
        let provider = tokio::sync::OnceCell::new_with(config.credentials);
        Self {
            region: config.region,
            service: config.service,
            provider,
            credentials: tokio::sync::Mutex::new(None),
        }
    }

    async fn provider(&self) -> Result<&SharedCredentialsProvider, ClientError> {
        self.provider
            .get_or_try_init(|| async {
                aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .load()
                    .await
                    .credentials_provider()
                    .ok_or(ClientError::Signing {
                        reason: "no AWS credentials provider is configured",
                        source: None,
                    })
            })
            .await
    }

    async fn credentials(&self) -> Result<Credentials, ClientError> {
        let mut cached = self.credentials.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let due = credentials
                .expiry()
                .is_some_and(|expiry| SystemTime::now() + CREDENTIALS_EARLY >= expiry);
            if !due {
                return Ok(credentials.clone());
            }
        }
        let credentials = self
            .provider()
            .await?
            .provide_credentials()
            .await
            .map_err(|e| signing_error("could not load AWS credentials", e))?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    /// Signs a request: returns the headers to add (`authorization`, `x-amz-date`, and
    /// `x-amz-security-token` for temporary credentials).
    pub(crate) async fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, ClientError> {
        let identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| signing_error("bad signing parameters", e))?
            .into();
        let request = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| signing_error("the request cannot be signed", e))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| signing_error("signing failed", e))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}
