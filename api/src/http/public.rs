//! Security declarations for public routes, so the spec says explicitly that they need no
//! credentials (`security: [{}]`, or the schemes plus `{}` where credentials are optional)
//! instead of saying nothing.

use poem::{Request, RequestBody};
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme};

use super::security::{ApiKeyAuth, BearerAuth};

/// Credentials are optional: anyone may call; a caller who sends valid ones is recognised
/// (read with [`super::security::viewer`]), and invalid ones are ignored.
#[derive(SecurityScheme)]
pub enum MaybeAuth {
    Bearer(BearerAuth),
    ApiKey(ApiKeyAuth),
    #[oai(fallback)]
    Anonymous,
}

/// No credentials: the route is open to anyone (or, like the payment webhook and login,
/// checks something of its own).
pub struct NoAuth;

impl<'a> ApiExtractor<'a> for NoAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(_registry: &mut Registry) {}

    fn security_schemes() -> Vec<&'static str> {
        Vec::new()
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        _request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(NoAuth)
    }
}
