//! SDK errors as the user should read them: expired or missing credentials say how to log in,
//! throttling (already retried with back-off by the SDK) becomes `RateLimited`, the rest says
//! which call failed and why in one line, not a stack of SDK errors.

use std::error::Error as StdError;

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::providers::ProviderError;

/// What an error message needs to say where it happened and how to fix it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorContext {
    pub profile: Option<String>,
    pub region: String,
    pub endpoint: Option<String>,
}

/// Error codes AWS services use for throttling.
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "BandwidthLimitExceeded",
    "EC2ThrottledException",
];

/// Error codes that mean the credentials themselves were refused.
const BAD_CREDENTIALS: &[&str] = &[
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "AuthFailure",
    "InvalidAccessKeyId",
    "InvalidToken",
];

/// Error codes that mean the credentials work but lack a permission.
const DENIED: &[&str] = &["AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "NotAuthorized"];

impl ErrorContext {
    fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or("default")
    }

    fn sso_fix(&self) -> String {
        format!("run `aws sso login --profile {}`", self.profile_name())
    }

    fn configure_fix(&self) -> String {
        match &self.profile {
            Some(p) => format!(
                "configure credentials: `aws configure --profile {p}` (or `aws sso login --profile {p}` for an SSO profile), or set AWS_PROFILE"
            ),
            None => "configure credentials: `aws configure`, or set AWS_PROFILE".to_string(),
        }
    }

    fn place(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("{} at {e}", self.region),
            None => self.region.clone(),
        }
    }

    /// Maps an SDK error of the call `what` (e.g. `ecs:ListClusters`).
    pub fn map<E>(&self, what: &str, err: &SdkError<E, HttpResponse>) -> ProviderError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let chain = DisplayErrorContext(err).to_string();
        if let SdkError::ServiceError(_) = err
            && let Some(code) = err.code()
        {
            return self.classify(what, code, err.message().unwrap_or_default());
        }
        if let Some(auth) = self.credentials_problem(err, &chain) {
            return auth;
        }
        match err {
            SdkError::TimeoutError(_) => ProviderError::Timeout(super::OPERATION_TIMEOUT),
            SdkError::DispatchFailure(_) => {
                ProviderError::Unavailable(format!("{what}: cannot reach AWS ({}): {}", self.place(), last_cause(err)))
            }
            SdkError::ResponseError(_) => ProviderError::Payload(format!("{what}: {}", last_cause(err))),
            SdkError::ServiceError(_) => {
                // An error response without a code (a proxy's page, an emulator's 404...).
                let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or_default();
                ProviderError::Unavailable(format!(
                    "{what}: AWS ({}) answered HTTP {status} without an error code",
                    self.place()
                ))
            }
            _ => ProviderError::Unavailable(format!("{what}: {}", last_cause(err))),
        }
    }

    /// Classifies a service error by its code.
    pub fn classify(&self, what: &str, code: &str, message: &str) -> ProviderError {
        let message = if message.is_empty() { code } else { message };
        if THROTTLING.contains(&code) {
            return ProviderError::RateLimited { retry_after: None };
        }
        if BAD_CREDENTIALS.contains(&code) {
            let fix = if message.contains("SSO") || code == "UnauthorizedException" {
                self.sso_fix()
            } else {
                self.configure_fix()
            };
            return ProviderError::Auth { message: format!("AWS refused the credentials ({code}): {message}"), fix };
        }
        if DENIED.contains(&code) {
            return ProviderError::Auth {
                message: format!("AWS denied {what}: {message}"),
                fix: format!(
                    "grant {what} to the role or user of profile {} (IAM), or use a profile that has it",
                    self.profile_name()
                ),
            };
        }
        if code == "ClusterNotFoundException" {
            return ProviderError::Unavailable(format!(
                "{what}: ECS cluster not found in {} (check [aws] clusters)",
                self.place()
            ));
        }
        ProviderError::Unavailable(format!("{what}: {code}: {message}"))
    }

    /// A failure to find or load credentials (before anything was sent), if that is what this is.
    fn credentials_problem<E>(&self, err: &SdkError<E, HttpResponse>, chain: &str) -> Option<ProviderError>
    where
        E: StdError + 'static,
    {
        let mut source: Option<&(dyn StdError + 'static)> = Some(err);
        let mut is_credentials = false;
        while let Some(e) = source {
            if e.downcast_ref::<aws_credential_types::provider::error::CredentialsError>().is_some() {
                is_credentials = true;
            }
            source = e.source();
        }
        let lower = chain.to_ascii_lowercase();
        if !is_credentials && !lower.contains("credential") && !lower.contains("sso") {
            return None;
        }
        let cause = last_cause(err);
        if chain.contains("SSO") || lower.contains("sso token") || lower.contains("sso session") {
            return Some(ProviderError::Auth {
                message: format!(
                    "the AWS SSO session of profile {} has expired or is missing: {cause}",
                    self.profile_name()
                ),
                fix: self.sso_fix(),
            });
        }
        Some(ProviderError::Auth { message: format!("no usable AWS credentials: {cause}"), fix: self.configure_fix() })
    }
}

/// The innermost message of an error chain: the one that says what actually happened.
fn last_cause(err: &(dyn StdError + 'static)) -> String {
    let mut messages = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let m = e.to_string();
        if !m.is_empty() && !messages.contains(&m) {
            messages.push(m);
        }
        source = e.source();
    }
    // The SDK's outer layers say "dispatch failure" / "service error"; the inner ones say why.
    let useful: Vec<&String> = messages
        .iter()
        .filter(|m| !matches!(m.as_str(), "dispatch failure" | "service error" | "other" | "io error"))
        .collect();
    let cause = useful.last().map_or_else(|| messages.join(": "), |m| (*m).clone());
    one_line(&cause)
}

/// The credential chain's report ("no credentials found in chain. Attempted:" and one line per
/// provider) folded into one line for the status bar.
fn one_line(cause: &str) -> String {
    let mut lines = cause.lines();
    let first = lines.next().unwrap_or_default();
    let first = first.trim_end().trim_end_matches("Attempted:").trim_end().trim_end_matches('.');
    let tried: Vec<&str> = lines
        .filter_map(|l| l.trim().split_once(':').map(|(name, _)| name.trim()))
        .filter(|name| !name.is_empty())
        .collect();
    if tried.is_empty() { first.to_string() } else { format!("{first} (tried {})", tried.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(profile: Option<&str>) -> ErrorContext {
        ErrorContext { profile: profile.map(str::to_string), region: "us-east-1".into(), endpoint: None }
    }

    #[test]
    fn the_credential_chain_report_fits_on_one_line() {
        let report = "no credentials found in chain. Attempted:\n  Environment: the credential provider was not enabled\n  Profile: the credential provider was not enabled\n";
        assert_eq!(one_line(report), "no credentials found in chain (tried Environment, Profile)");
        assert_eq!(one_line("Connection refused"), "Connection refused");
    }

    #[test]
    fn codes_map_to_what_the_user_can_do() {
        let c = ctx(Some("dev"));
        assert_eq!(
            c.classify("ecs:ListClusters", "ThrottlingException", "Rate exceeded"),
            ProviderError::RateLimited { retry_after: None }
        );
        match c.classify(
            "ecs:ListClusters",
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ) {
            ProviderError::Auth { message, fix } => {
                assert!(message.contains("expired"), "{message}");
                assert!(fix.contains("aws configure --profile dev"), "{fix}");
            }
            other => panic!("{other:?}"),
        }
        match c.classify("secretsmanager:ListSecrets", "AccessDeniedException", "not authorized") {
            ProviderError::Auth { message, fix } => {
                assert!(message.contains("secretsmanager:ListSecrets"), "{message}");
                assert!(fix.contains("IAM"), "{fix}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.classify("ecs:ListServices", "ClusterNotFoundException", "Cluster not found."),
            ProviderError::Unavailable(m) if m.contains("cluster not found")
        ));
        let fix = match ctx(None).classify("x", "UnrecognizedClientException", "bad") {
            ProviderError::Auth { fix, .. } => fix,
            other => panic!("{other:?}"),
        };
        assert_eq!(fix, "configure credentials: `aws configure`, or set AWS_PROFILE");
    }
}
