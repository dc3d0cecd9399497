//! `JsonBody<T>`: a JSON request body parsed with serde, so that errors name the field:
//! malformed JSON → 400 `malformed_json` with line and column; a wrong type or missing field
//! → 422 `validation_failed` with `details.field`. The schema in the spec is `T`'s own.

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::error::{ApiError, ErrorCode};
use super::text;

pub struct JsonBody<T>(pub T);

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// The field a serde error is about: its path, or the name in "missing field `x`".
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_string(),
        (p, Some(name)) => format!("{p}.{name}"),
        (p, None) => p.to_string(),
    }
}

impl<T: Type + DeserializeOwned> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        // A `Value` first: trailing data and a wrong top-level type are refused before any
        // field is looked at, and every string is checked for characters nobody types.
        let value: Value = serde_json::from_slice(&data).map_err(|e| {
            ApiError::bad_request(ErrorCode::MalformedJson, format!("malformed JSON: {e}"))
                .with_details(json!({"line": e.line(), "column": e.column()}))
        })?;
        if !value.is_object() {
            return Err(ApiError::validation("", "the body must be a JSON object").into());
        }
        if let Some((field, why)) = text::first_bad_string(&value) {
            return Err(ApiError::validation(&field, why).into());
        }
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = field_of(&path, &message);
                ApiError::validation(&field, format!("{field}: {message}")).into()
            })
    }
}

impl<'a, T: Type + DeserializeOwned> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(ct) if <Self as Payload>::check_content_type(ct) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            _ => Err(ApiError::new(
                poem::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send the body as application/json",
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn errors_name_the_field_at_any_depth() {
        assert_eq!(
            field_of("amount", "invalid type: string \"x\", expected i64"),
            "amount"
        );
        assert_eq!(field_of(".", "missing field `email`"), "email");
        assert_eq!(field_of("data", "missing field `amount`"), "data.amount");
    }
}
