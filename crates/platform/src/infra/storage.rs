//! Object storage through aws-sdk-s3: MinIO or S3 in production, a local S3-compatible server
//! in development and tests — the same code path, chosen by configuration only.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use crate::config::S3Config;
use crate::error::{Error, Result};

#[derive(Clone, Debug)]
pub struct Storage {
    client: Client,
    /// Signs URLs with the endpoint users can reach, which may differ from the internal one.
    presigner: Client,
    bucket: String,
}

fn client(config: &S3Config, endpoint: Option<&str>) -> Client {
    let credentials = Credentials::new(
        &config.access_key_id,
        config.secret_access_key.expose(),
        None,
        None,
        "commonpot-config",
    );
    let mut builder = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .credentials_provider(credentials)
        // Local servers and MinIO want path-style URLs and no streamed trailer checksums.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(endpoint) = endpoint {
        builder = builder.endpoint_url(endpoint).force_path_style(true);
    }
    Client::from_conf(builder.build())
}

impl Storage {
    pub fn new(config: &S3Config) -> Self {
        Self {
            client: client(config, config.endpoint.as_deref()),
            presigner: client(config, config.public_endpoint.as_deref()),
            bucket: config.bucket.clone(),
        }
    }

    /// Creates the bucket when it does not exist yet (first start of a dev or test setup).
    pub async fn ensure_bucket(&self) -> Result<()> {
        if self.ping().await.is_ok() {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| Error::internal(format!("create bucket {}: {e:?}", self.bucket)))?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|_| Error::Unavailable("object storage"))?;
        Ok(())
    }

    pub async fn put(&self, key: &str, content_type: &str, body: Vec<u8>) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| Error::internal(format!("put {key}: {e:?}")))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::internal(format!("get {key}: {e:?}")))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| Error::internal(format!("read {key}: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// Keys under `prefix`, oldest name first.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .map_err(|e| Error::internal(format!("list {prefix}: {e:?}")))?;
        let mut keys: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        keys.sort();
        Ok(keys)
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::internal(format!("delete {key}: {e:?}")))?;
        Ok(())
    }

    /// A time-limited GET URL for `key`.
    pub async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<String> {
        let config = PresigningConfig::expires_in(ttl).map_err(Error::internal)?;
        let req = self
            .presigner
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| Error::internal(format!("presign {key}: {e:?}")))?;
        Ok(req.uri().to_string())
    }
}
