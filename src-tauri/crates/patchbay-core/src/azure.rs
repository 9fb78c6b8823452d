//! Azure OpenAI: what a person pastes (the resource endpoint, the v1 base
//! URL, or a whole request URL copied from the Azure portal) reduced to the
//! base URL Patchbay stores, and which of Azure's two APIs it speaks.
//!
//! - **v1 API** (the default): base `https://{resource}/openai/v1`, the
//!   OpenAI paths under it (`/models`, `/chat/completions`), no
//!   `api-version`.
//! - **Classic deployments API**: base `https://{resource}/openai`, chat at
//!   `/deployments/{deployment}/chat/completions?api-version=…`, the model
//!   list at `/models?api-version=…`. Chosen by giving an `api_version`, or
//!   taken from a pasted portal URL that carries one.
//!
//! Both send the key as `api-key`, and model ids are deployment names (the
//! name the person gave a deployment, not the model's). Sources: Microsoft
//! Learn, "Azure OpenAI in Azure AI Foundry Models v1 API" (api-version
//! lifecycle page) and the data-plane inference reference (2024-10-21 GA).

use url::Url;

use crate::safe_url::SafeUrl;

/// The draft field of the classic API version.
pub const API_VERSION_FIELD: &str = "api_version";

/// What the portal and SDKs used as the last GA version of the classic API,
/// offered in the form's placeholder.
pub const SUGGESTED_API_VERSION: &str = "2024-10-21";

/// `YYYY-MM-DD`, optionally `-preview`.
pub fn check_api_version(version: &str) -> Result<(), String> {
    let date = version.get(..10).unwrap_or(version);
    let suffix = version.get(10..).unwrap_or("");
    let digits_at = [0, 1, 2, 3, 5, 6, 8, 9];
    let well_formed = date.len() == 10
        && date.as_bytes()[4] == b'-'
        && date.as_bytes()[7] == b'-'
        && digits_at
            .iter()
            .all(|&index| date.as_bytes()[index].is_ascii_digit())
        && (suffix.is_empty() || suffix == "-preview");
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "use an Azure OpenAI API version such as {SUGGESTED_API_VERSION} or 2025-04-01-preview, or leave it empty for the v1 API"
        ))
    }
}

/// A pasted Azure URL, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureUrl {
    /// The base URL to store (`…/openai/v1`, or `…/openai` for the classic API).
    pub base: String,
    /// The classic API's version; `None`: the v1 API.
    pub api_version: Option<String>,
    /// A deployment named in the pasted URL (`…/deployments/{name}/…`).
    pub deployment: Option<String>,
    pub notices: Vec<String>,
}

/// Reduces `input` (a resource endpoint, a base URL or a portal request URL)
/// to the base URL of the chosen API. `api_version`: the one the person chose
/// (empty: the v1 API, unless the pasted URL carries one). The error never
/// repeats the input.
pub fn reduce(input: &str, api_version: Option<&str>) -> Result<AzureUrl, String> {
    let url = SafeUrl::parse(input.trim())
        .map_err(|problem| problem.to_string())?
        .into_url();
    let segments: Vec<&str> = url
        .path_segments()
        .map(|parts| parts.filter(|part| !part.is_empty()).collect())
        .unwrap_or_default();
    let after_openai: &[&str] = match segments.iter().position(|part| part.eq_ignore_ascii_case("openai")) {
        Some(index) => &segments[index + 1..],
        None if segments.is_empty() => &[],
        None => {
            return Err("an Azure OpenAI URL is the resource endpoint (https://NAME.openai.azure.com) or a URL under its /openai path".to_owned())
        }
    };
    let deployment = match after_openai {
        [first, name, ..] if first.eq_ignore_ascii_case("deployments") => Some((*name).to_owned()),
        _ => None,
    };
    let pasted_version = url
        .query_pairs()
        .find(|(name, _value)| name == "api-version")
        .map(|(_name, value)| value.into_owned())
        .filter(|value| !value.is_empty());
    let chosen = api_version.map(str::trim).filter(|value| !value.is_empty());
    let mut notices = Vec::new();
    let version = match (chosen, &pasted_version) {
        (Some(version), _) => Some(version.to_owned()),
        (None, Some(pasted)) if after_openai.first().is_none_or(|part| *part != "v1") => {
            notices.push(format!(
                "The URL uses api-version {pasted}: Patchbay uses Azure's classic deployments API with it. Clear the API version to use the v1 API instead."
            ));
            Some(pasted.clone())
        }
        _ => None,
    };
    if let Some(version) = &version {
        check_api_version(version)?;
    }
    let origin = url.origin().ascii_serialization();
    let base = match version {
        Some(_) => format!("{origin}/openai"),
        None => format!("{origin}/openai/v1"),
    };
    let typed = input.trim().trim_end_matches('/');
    if !typed.eq_ignore_ascii_case(&base) && !segments.is_empty() {
        notices.insert(
            0,
            format!("Reduced the Azure URL to {base}: Patchbay builds each request's path itself."),
        );
    }
    Ok(AzureUrl {
        base,
        api_version: version,
        deployment,
        notices,
    })
}

/// `{base}/deployments/{deployment}/{path}?api-version=…` for the classic
/// API; `{base}/{path}` (with the version on `models`) otherwise.
pub fn request_url(base: &Url, path: &str, deployment: Option<&str>, api_version: &str) -> Url {
    let mut url = match (path.trim_start_matches('/'), deployment) {
        ("models", _) | (_, None) => crate::base_url::endpoint(base, path),
        (rest, Some(name)) => {
            let mut url = base.clone();
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.pop_if_empty().push("deployments").push(name);
                segments.extend(rest.split('/').filter(|part| !part.is_empty()));
            }
            url
        }
    };
    url.query_pairs_mut()
        .append_pair("api-version", api_version);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_urls_reduce_to_the_base_of_the_api_they_use() {
        let resource = reduce("https://contoso.openai.azure.com/", None).expect("resource");
        assert_eq!(resource.base, "https://contoso.openai.azure.com/openai/v1");
        assert_eq!(resource.api_version, None);
        assert!(resource.notices.is_empty());

        let v1 = reduce(
            "https://contoso.openai.azure.com/openai/v1/chat/completions",
            None,
        )
        .expect("v1");
        assert_eq!(v1.base, "https://contoso.openai.azure.com/openai/v1");
        assert!(v1.notices[0].starts_with("Reduced the Azure URL"));

        let portal = reduce(
            "https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21",
            None,
        )
        .expect("portal");
        assert_eq!(portal.base, "https://contoso.openai.azure.com/openai");
        assert_eq!(portal.api_version.as_deref(), Some("2024-10-21"));
        assert_eq!(portal.deployment.as_deref(), Some("gpt4o-prod"));
        assert!(portal
            .notices
            .iter()
            .any(|notice| notice.contains("classic deployments API")));

        let chosen = reduce(
            "https://contoso.cognitiveservices.azure.com",
            Some("2025-04-01-preview"),
        )
        .expect("chosen");
        assert_eq!(
            chosen.base,
            "https://contoso.cognitiveservices.azure.com/openai"
        );

        assert!(reduce("https://contoso.openai.azure.com/somewhere/else", None).is_err());
        assert!(reduce("https://contoso.openai.azure.com", Some("latest")).is_err());
    }

    #[test]
    fn api_versions_are_dates_with_an_optional_preview() {
        for good in ["2024-10-21", "2025-04-01-preview"] {
            assert!(check_api_version(good).is_ok(), "{good}");
        }
        for bad in ["", "2024-1-21", "v1", "2024-10-21-beta", "2024/10/21"] {
            assert!(check_api_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classic_requests_address_the_deployment_and_keep_the_version() {
        let base = Url::parse("https://contoso.openai.azure.com/openai").expect("url");
        assert_eq!(
            request_url(&base, "chat/completions", Some("gpt4o prod"), "2024-10-21").as_str(),
            "https://contoso.openai.azure.com/openai/deployments/gpt4o%20prod/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            request_url(&base, "models", None, "2024-10-21").as_str(),
            "https://contoso.openai.azure.com/openai/models?api-version=2024-10-21"
        );
    }
}
