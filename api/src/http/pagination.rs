//! Page/limit pagination shared by list endpoints.

use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON};

use super::error::ApiError;
use super::params::MAX_PAGE;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Clone, Copy)]
pub struct PageParams {
    pub page: i64,
    pub limit: i64,
}

impl PageParams {
    /// `page` is 1..=10,000 (default 1); `limit` is 1..=100 (default 20). Every list checks its
    /// paging here, so `offset` cannot overflow and no page sends PostgreSQL scanning for
    /// millions of rows to skip.
    pub fn parse(page: Option<i64>, limit: Option<i64>) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(domain::Error::validation(
                "page",
                format!("page must be between 1 and {MAX_PAGE}"),
            )
            .into());
        }
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(
                domain::Error::validation("limit", "limit must be between 1 and 100").into(),
            );
        }
        Ok(Self { page, limit })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.limit
    }
}

/// One page of items with the total count.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct Paged<T: ParseFromJSON + ToJSON + Send + Sync> {
    pub items: Vec<T>,
    pub page: i64,
    pub limit: i64,
    pub total: i64,
}

impl<T: ParseFromJSON + ToJSON + Send + Sync> Paged<T> {
    pub fn new(items: Vec<T>, params: PageParams, total: i64) -> Self {
        Self {
            items,
            page: params.page,
            limit: params.limit,
            total,
        }
    }
}
