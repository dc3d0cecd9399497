//! Reading an uploaded file. poem spools a multipart file to a temporary file as it arrives
//! (and `middleware::guard` stops the body at the route's limit), so the size is known before
//! anything is read into memory: a file over the limit is refused without being read.

use poem::http::StatusCode;
use poem_openapi::types::multipart::Upload;
use serde_json::json;

use super::error::{ApiError, ErrorCode};

/// The file's bytes, or 413 `payload_too_large` (field `file`) when it is over `max` bytes.
pub async fn read(upload: Upload, max: usize) -> Result<Vec<u8>, ApiError> {
    if upload.size() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the file is larger than {max} bytes"),
        )
        .with_details(json!({ "field": "file", "limit": max })));
    }
    upload.into_vec().await.map_err(|e| {
        domain::Error::validation("file", format!("could not read the upload: {e}")).into()
    })
}
