//! The AWS SDK reads a whole response body before it deserializes it and has no size limit of its
//! own: a proxy or a broken endpoint answering 50 MB would be read in full, and valid-looking
//! filler taken as an empty answer. Every client gets this interceptor, which caps the body at
//! [`MAX_BODY`](crate::providers::net::MAX_BODY) like every other source's requests.

use aws_sdk_ecs::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_ecs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::providers::net::MAX_BODY;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body went past the cap.
#[derive(Debug, thiserror::Error)]
#[error("the answer is larger than {} MiB; not read", MAX_BODY >> 20)]
pub struct BodyTooLarge;

/// Caps every response body of a client at [`MAX_BODY`].
#[derive(Debug, Default, Clone, Copy)]
pub struct BodyLimit;

impl Intercept for BodyLimit {
    fn name(&self) -> &'static str {
        "skydeck::BodyLimit"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let declared = response.headers().get("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_BODY as u64) {
            return Err(Box::new(BodyTooLarge));
        }
        let body = response.take_body();
        let capped = Limited::new(body, MAX_BODY).map_err(|e: BoxError| -> BoxError {
            if e.downcast_ref::<LengthLimitError>().is_some() { Box::new(BodyTooLarge) } else { e }
        });
        *response.body_mut() = SdkBody::from_body_1_x(capped);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_past_the_cap_fails_with_its_size_and_one_within_reads_whole() {
        let read = |len: usize| async move {
            let capped = Limited::new(SdkBody::from(vec![b'x'; len]), MAX_BODY).map_err(|e: BoxError| -> BoxError {
                if e.downcast_ref::<LengthLimitError>().is_some() { Box::new(BodyTooLarge) } else { e }
            });
            SdkBody::from_body_1_x(capped).collect().await.map(|b| b.to_bytes().len())
        };
        assert_eq!(read(1024).await.unwrap(), 1024);
        let err = read(MAX_BODY + 1).await.unwrap_err();
        assert_eq!(err.to_string(), "the answer is larger than 32 MiB; not read");
    }
}
