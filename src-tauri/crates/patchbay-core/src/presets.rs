//! Presets: the providers Patchbay knows how to fill in — base URL, auth
//! mode, network allowance, where to get a key and a default model or two.
//!
//! Every base URL here was checked against the provider's own documentation
//! (the page in `docs_url`) in November 2026, and each one passes
//! [`crate::base_url::normalize`] under its own allowance (a unit test checks
//! that). A base URL is copied as the provider documents it, minus a
//! trailing slash: DeepSeek's is documented without `/v1`, Gemini's as
//! `…/v1beta/openai/`, and Patchbay never adds or removes a version segment.
//!
//! Model ids are starting points only: discovery (`GET {base}/models`) gives
//! the real list, and local servers get none because their models are
//! whatever the person has pulled or loaded.

use serde::Serialize;

use crate::model::{Api, Auth, NetworkAllowance};

/// One preset, as the form's preset picker and `patchbay presets --json`
/// show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preset {
    /// Stable id stored in a provider's `preset` field (`openrouter`).
    pub id: &'static str,
    /// What the picker shows (`OpenRouter`).
    pub name: &'static str,
    /// The documented base URL; empty for [`CUSTOM`] and for Azure OpenAI
    /// (every resource has its own).
    pub base_url: &'static str,
    pub auth: Auth,
    pub network: NetworkAllowance,
    /// Where a person creates a key, for the "Get a key" link.
    pub key_url: Option<&'static str>,
    /// The provider's page that documents the base URL.
    pub docs_url: &'static str,
    /// Suggested model ids, the first being the default; may be empty.
    pub models: &'static [&'static str],
    /// The API the provider speaks (`openai`, `azure_openai`).
    pub api: Api,
    /// One or two sentences the form shows under the preset.
    pub note: Option<&'static str>,
}

/// The id of the preset that fills nothing in.
pub const CUSTOM: &str = "custom";

static PRESETS: &[Preset] = &[
    Preset {
        id: "openai",
        name: "OpenAI",
        base_url: "https://api.openai.com/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://platform.openai.com/api-keys"),
        docs_url: "https://platform.openai.com/docs/api-reference/introduction",
        models: &["gpt-5-mini", "gpt-5"],
        note: None,
    },
    Preset {
        id: "anthropic",
        name: "Anthropic",
        base_url: "https://api.anthropic.com/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Anthropic,
        key_url: Some("https://platform.claude.com/settings/keys"),
        docs_url: "https://platform.claude.com/docs/en/api/messages",
        models: &["claude-sonnet-4-6", "claude-haiku-4-5"],
        note: Some(
            "Anthropic's own Messages API: apps reach it through Patchbay's gateway as OpenAI chat completions (translated both ways), or as Messages requests on the gateway's /v1/messages.",
        ),
    },
    Preset {
        id: "anthropic-openai",
        name: "Anthropic (OpenAI compatibility layer)",
        base_url: "https://api.anthropic.com/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://platform.claude.com/settings/keys"),
        docs_url: "https://platform.claude.com/docs/en/cli-sdks-libraries/libraries/openai-sdk",
        models: &["claude-sonnet-4-6", "claude-haiku-4-5"],
        note: Some(
            "Anthropic's OpenAI SDK compatibility layer, which Anthropic describes as meant for testing and comparing models; prompt caching, PDFs and citations need the Messages API (the Anthropic preset).",
        ),
    },
    Preset {
        id: "gemini",
        name: "Google Gemini",
        base_url: "https://generativelanguage.googleapis.com/v1beta/openai",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://aistudio.google.com/apikey"),
        docs_url: "https://ai.google.dev/gemini-api/docs/openai",
        models: &["gemini-2.5-flash", "gemini-2.5-pro"],
        note: Some("Gemini's OpenAI-compatible endpoint; create the key in Google AI Studio."),
    },
    Preset {
        id: "mistral",
        name: "Mistral",
        base_url: "https://api.mistral.ai/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://console.mistral.ai/api-keys"),
        docs_url: "https://docs.mistral.ai/api",
        models: &["mistral-small-latest", "mistral-large-latest"],
        note: None,
    },
    Preset {
        id: "groq",
        name: "Groq",
        base_url: "https://api.groq.com/openai/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://console.groq.com/keys"),
        docs_url: "https://console.groq.com/docs/openai",
        models: &["llama-3.3-70b-versatile", "llama-3.1-8b-instant"],
        note: None,
    },
    Preset {
        id: "together",
        name: "Together AI",
        base_url: "https://api.together.ai/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://api.together.ai/settings/api-keys"),
        docs_url: "https://docs.together.ai/docs/inference/openai-compatibility",
        models: &["openai/gpt-oss-20b"],
        note: Some("Model ids are namespaced as <organisation>/<model>."),
    },
    Preset {
        id: "fireworks",
        name: "Fireworks AI",
        base_url: "https://api.fireworks.ai/inference/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://fireworks.ai/account/api-keys"),
        docs_url: "https://docs.fireworks.ai/tools-sdks/openai-compatibility",
        models: &["accounts/fireworks/models/llama-v3p1-8b-instruct"],
        note: Some("Model ids are fully qualified: accounts/fireworks/models/<model>."),
    },
    Preset {
        id: "deepseek",
        name: "DeepSeek",
        base_url: "https://api.deepseek.com",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://platform.deepseek.com/api_keys"),
        docs_url: "https://api-docs.deepseek.com/",
        models: &["deepseek-v4-flash", "deepseek-v4-pro"],
        note: Some("DeepSeek documents its base URL without /v1; https://api.deepseek.com/v1 works too."),
    },
    Preset {
        id: "xai",
        name: "xAI",
        base_url: "https://api.x.ai/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://console.x.ai"),
        docs_url: "https://docs.x.ai/api/integrations",
        models: &["grok-4"],
        note: None,
    },
    Preset {
        id: "openrouter",
        name: "OpenRouter",
        base_url: "https://openrouter.ai/api/v1",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: Some("https://openrouter.ai/settings/keys"),
        docs_url: "https://openrouter.ai/docs/quickstart",
        models: &["openai/gpt-5-mini", "google/gemini-2.5-flash"],
        note: Some(
            "Optional HTTP-Referer and X-Title headers credit your app on openrouter.ai; add them as custom headers if you want that.",
        ),
    },
    Preset {
        id: "ollama",
        name: "Ollama",
        base_url: "http://localhost:11434/v1",
        auth: Auth::None,
        network: NetworkAllowance::Local,
        api: Api::Openai,
        key_url: None,
        docs_url: "https://docs.ollama.com/api/openai-compatibility",
        models: &[],
        note: Some("Start Ollama and pull a model first (ollama pull <model>); it needs no key."),
    },
    Preset {
        id: "lm-studio",
        name: "LM Studio",
        base_url: "http://localhost:1234/v1",
        auth: Auth::None,
        network: NetworkAllowance::Local,
        api: Api::Openai,
        key_url: None,
        docs_url: "https://lmstudio.ai/docs/api/openai-api",
        models: &[],
        note: Some(
            "Start the server in LM Studio's Developer tab (or lms server start). If you turned on Require Authentication, choose API key auth and enter its token.",
        ),
    },
    Preset {
        id: "vllm",
        name: "vLLM",
        base_url: "http://localhost:8000/v1",
        auth: Auth::None,
        network: NetworkAllowance::Local,
        api: Api::Openai,
        key_url: None,
        docs_url: "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
        models: &[],
        note: Some("vllm serve listens on port 8000. If you started it with --api-key, choose API key auth and enter that key."),
    },
    Preset {
        id: "llama-cpp",
        name: "llama.cpp server",
        base_url: "http://localhost:8080/v1",
        auth: Auth::None,
        network: NetworkAllowance::Local,
        api: Api::Openai,
        key_url: None,
        docs_url: "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md",
        models: &[],
        note: Some("llama-server listens on 127.0.0.1:8080. If you started it with --api-key, choose API key auth and enter that key."),
    },
    Preset {
        id: "litellm",
        name: "LiteLLM proxy",
        base_url: "http://localhost:4000",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Local,
        api: Api::Openai,
        key_url: None,
        docs_url: "https://docs.litellm.ai/docs/proxy/docker_quick_start",
        models: &[],
        note: Some(
            "Use the proxy's master key or a virtual key it issued. For a proxy on another machine, change the URL and the network access (https for a remote one).",
        ),
    },
    Preset {
        id: "azure-openai",
        name: "Azure OpenAI",
        base_url: "",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::AzureOpenai,
        key_url: Some("https://portal.azure.com"),
        docs_url: "https://learn.microsoft.com/en-us/azure/ai-foundry/openai/api-version-lifecycle",
        models: &[],
        note: Some("Enter your resource's endpoint (https://NAME.openai.azure.com) or paste a URL from the Azure portal, and type your deployment names as models. The key is sent as api-key."),
    },
    Preset {
        id: CUSTOM,
        name: "Custom",
        base_url: "",
        auth: Auth::ApiKey,
        network: NetworkAllowance::Remote,
        api: Api::Openai,
        key_url: None,
        docs_url: "https://platform.openai.com/docs/api-reference/chat",
        models: &[],
        note: Some("Any OpenAI-compatible endpoint: paste its base URL as its documentation gives it (often ending in /v1)."),
    },
];

/// Every preset, in the order the picker shows them (Custom last).
pub fn all() -> &'static [Preset] {
    PRESETS
}

/// The preset with this id or name, compared ignoring ASCII case and
/// everything but letters and digits, so `--preset OpenRouter`,
/// `lmstudio` and `llama.cpp` all work on the command line.
pub fn find(id_or_name: &str) -> Option<&'static Preset> {
    let wanted = squash(id_or_name);
    if wanted.is_empty() {
        return None;
    }
    PRESETS
        .iter()
        .find(|preset| squash(preset.id) == wanted || squash(preset.name) == wanted)
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|character| character.to_ascii_lowercase())
        .collect()
}

/// The ids, comma-separated, for error messages.
pub fn ids() -> String {
    PRESETS
        .iter()
        .map(|preset| preset.id)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base_url;
    use crate::id::ProviderId;
    use crate::validation::validate_model_id;

    #[test]
    fn every_issue_preset_is_present() {
        let names: Vec<&str> = all().iter().map(|preset| preset.name).collect();
        for expected in [
            "OpenAI",
            "Anthropic",
            "Google Gemini",
            "Mistral",
            "Groq",
            "Together AI",
            "Fireworks AI",
            "DeepSeek",
            "xAI",
            "OpenRouter",
            "Ollama",
            "LM Studio",
            "vLLM",
            "llama.cpp server",
            "LiteLLM proxy",
            "Azure OpenAI",
            "Custom",
        ] {
            assert!(names.contains(&expected), "missing preset {expected}");
        }
        assert_eq!(all().len(), 18);
        assert_eq!(all().last().map(|preset| preset.id), Some(CUSTOM));
    }

    #[test]
    fn every_base_url_passes_normalize_under_its_own_allowance_unchanged() {
        for preset in all().iter().filter(|preset| !preset.base_url.is_empty()) {
            let check = base_url::normalize(preset.base_url, preset.network)
                .unwrap_or_else(|error| panic!("{}: {}", preset.id, error.message));
            assert_eq!(
                base_url::display(&check.normalized),
                preset.base_url,
                "{} is stored normalised",
                preset.id
            );
            assert!(
                check.notices.is_empty(),
                "{}: {:?}",
                preset.id,
                check.notices
            );
        }
    }

    #[test]
    fn local_presets_use_http_localhost_and_no_auth() {
        let expected = [
            ("ollama", "http://localhost:11434/v1"),
            ("lm-studio", "http://localhost:1234/v1"),
            ("vllm", "http://localhost:8000/v1"),
            ("llama-cpp", "http://localhost:8080/v1"),
        ];
        for (id, url) in expected {
            let preset = find(id).unwrap_or_else(|| panic!("preset {id}"));
            assert_eq!(preset.base_url, url);
            assert_eq!(preset.auth, Auth::None, "{id}");
            assert_eq!(preset.network, NetworkAllowance::Local, "{id}");
            assert!(preset.key_url.is_none(), "{id}");
        }
        let litellm = find("litellm").expect("litellm preset");
        assert_eq!(litellm.base_url, "http://localhost:4000");
        assert_eq!(litellm.auth, Auth::ApiKey);
        assert_eq!(litellm.network, NetworkAllowance::Local);
    }

    #[test]
    fn remote_presets_use_https_and_a_key_with_a_key_page() {
        for preset in all().iter().filter(|preset| {
            preset.network == NetworkAllowance::Remote && !preset.base_url.is_empty()
        }) {
            assert!(preset.base_url.starts_with("https://"), "{}", preset.id);
            assert_eq!(preset.auth, Auth::ApiKey, "{}", preset.id);
            assert!(
                preset
                    .key_url
                    .is_some_and(|url| url.starts_with("https://")),
                "{}",
                preset.id
            );
            assert!(!preset.models.is_empty(), "{} suggests a model", preset.id);
        }
    }

    #[test]
    fn ids_are_unique_valid_provider_ids_and_docs_are_https() {
        for (index, preset) in all().iter().enumerate() {
            assert!(ProviderId::parse(preset.id).is_ok(), "{}", preset.id);
            assert!(
                all()[index + 1..].iter().all(|other| other.id != preset.id),
                "duplicate {}",
                preset.id
            );
            assert!(preset.docs_url.starts_with("https://"), "{}", preset.id);
            for model in preset.models {
                assert!(validate_model_id(model).is_ok(), "{}: {model}", preset.id);
            }
        }
    }

    #[test]
    fn find_accepts_ids_and_names_loosely_and_rejects_unknown_ones() {
        for (query, id) in [
            ("OpenRouter", "openrouter"),
            (" ollama ", "ollama"),
            ("open-router", "openrouter"),
            ("lmstudio", "lm-studio"),
            ("LM Studio", "lm-studio"),
            ("llama.cpp", "llama-cpp"),
            ("llama.cpp server", "llama-cpp"),
            ("Google Gemini", "gemini"),
            ("x.ai", "xai"),
        ] {
            assert_eq!(find(query).map(|preset| preset.id), Some(id), "{query:?}");
        }
        for unknown in ["", "  ", "-", "chatgpt", "openai2", "llama"] {
            assert!(find(unknown).is_none(), "{unknown:?}");
        }
        for preset in all() {
            assert_eq!(find(preset.id), Some(preset), "{}", preset.id);
            assert_eq!(find(preset.name), Some(preset), "{}", preset.name);
        }
        assert!(ids().starts_with("openai, anthropic"));
    }

    #[test]
    fn serialises_the_documented_shape() {
        let json = serde_json::to_value(find("ollama").expect("ollama")).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "id": "ollama",
                "name": "Ollama",
                "base_url": "http://localhost:11434/v1",
                "auth": "none",
                "network": "local",
                "key_url": null,
                "docs_url": "https://docs.ollama.com/api/openai-compatibility",
                "models": [],
                "api": "openai",
                "note": "Start Ollama and pull a model first (ollama pull <model>); it needs no key."
            })
        );
        let json =
            serde_json::to_value(find("openrouter").expect("openrouter")).expect("serialises");
        assert_eq!(json["auth"], "api_key");
        assert_eq!(json["network"], "remote");
        assert_eq!(json["models"][0], "openai/gpt-5-mini");
    }
}
