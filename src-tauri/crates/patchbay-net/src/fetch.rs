//! Model discovery over the network: `GET {base}/models` through a session.

use crate::client::HttpClient;
use crate::discovery::DiscoveredModel;
use crate::error::{NetError, Resource};
use crate::openai;
use crate::policy::Lookup;
use crate::session::Session;
use crate::target::Target;

/// Fetches and parses `GET {base}/models` with the target's auth and
/// headers, through the full egress policy. 404/405 become
/// `not_found`/`method_not_allowed` with a hint to type model ids by hand.
pub async fn fetch_models(
    client: &HttpClient,
    target: &Target,
    lookup: &dyn Lookup,
) -> Result<Vec<DiscoveredModel>, NetError> {
    let url = target.request_url("models", None);
    let mut session = Session::new(client, target, lookup, None);
    let response = session.get(&url, Resource::Models).await?;
    let models = openai::models_from(&response, session.secrets(), target)?;
    if let Some((api, suggested)) = openai::native_api(&response.body, &target.base_url) {
        return Err(NetError::NativeApi { api, suggested });
    }
    Ok(models)
}
