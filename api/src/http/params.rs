//! Parameters documented with the bounds and shape the server enforces, but parsed leniently
//! so the server's own checks answer (422 `validation_failed` naming the field, as for every
//! other rule) rather than poem's generic 400.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};

use super::common::MAX_LIMIT;

/// The largest page number a list accepts.
pub const MAX_PAGE: i64 = 10_000;

macro_rules! lenient_param {
    ($(#[$meta:meta])* $name:ident($inner:ty), $required:expr, $schema:expr) => {
        $(#[$meta])*
        pub struct $name(pub Option<$inner>);

        impl Type for $name {
            const IS_REQUIRED: bool = $required;
            type RawValueType = $inner;
            type RawElementValueType = $inner;

            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                self.0.as_ref()
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.0.iter())
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                value
                    .parse::<$inner>()
                    .map(|v| Self(Some(v)))
                    .map_err(|e| ParseError::custom(e.to_string()))
            }

            fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(
                iter: I,
            ) -> ParseResult<Self> {
                match iter.into_iter().next() {
                    Some(v) => Self::parse_from_parameter(v.as_ref()),
                    None => Ok(Self(None)),
                }
            }
        }
    };
}

lenient_param!(
    /// `page`: 1 to 10,000 (default 1).
    PageNumber(i64),
    false,
    MetaSchema {
        format: Some("int64"),
        minimum: Some(1.0),
        maximum: Some(MAX_PAGE as f64),
        default: Some(1.into()),
        ..MetaSchema::new("integer")
    }
);

lenient_param!(
    /// `limit`: 1 to 100 (default 20).
    PageLimit(i64),
    false,
    MetaSchema {
        format: Some("int64"),
        minimum: Some(1.0),
        maximum: Some(MAX_LIMIT as f64),
        default: Some(super::common::DEFAULT_LIMIT.into()),
        ..MetaSchema::new("integer")
    }
);

lenient_param!(
    /// `limit` of the ledger digests: 1 to 366 (default 30).
    DigestLimit(i64),
    false,
    MetaSchema {
        format: Some("int64"),
        minimum: Some(1.0),
        maximum: Some(366.0),
        default: Some(30.into()),
        ..MetaSchema::new("integer")
    }
);

lenient_param!(
    /// The `Idempotency-Key` header: required on writes that move money (a request without it
    /// is refused with 422), 1 to 200 printable ASCII characters.
    IdempotencyKey(String),
    true,
    MetaSchema {
        min_length: Some(1),
        max_length: Some(200),
        pattern: Some("^[!-~]{1,200}$".to_string()),
        ..MetaSchema::new("string")
    }
);

lenient_param!(
    /// `limit` of the audit log: 1 to 100 (default 50).
    AuditLimit(i64),
    false,
    MetaSchema {
        format: Some("int64"),
        minimum: Some(1.0),
        maximum: Some(domain::admin::audit_log::MAX_LIMIT as f64),
        default: Some(domain::admin::audit_log::DEFAULT_LIMIT.into()),
        ..MetaSchema::new("integer")
    }
);
