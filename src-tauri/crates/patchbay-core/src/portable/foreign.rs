//! The custom endpoints of tools people already use, read into providers to
//! import: Zed's `settings.json` (`language_models.openai_compatible`, and
//! the `api_url` / `available_models` of its `openai`, `ollama` and
//! `lmstudio` sections; JSON with comments and trailing commas) and
//! Continue's `config.yaml` (`models`, grouped by provider and `apiBase`).
//!
//! Keys stay where they are: an API key in the file (Continue's `apiKey`)
//! is never read into anything and is listed as skipped, like every entry
//! this cannot import (another kind of provider, a model without an id).

use std::collections::HashSet;

use serde_json::{Map, Value};
use yaml_rust2::{Yaml, YamlLoader};

use super::{Candidates, ImportSource, PortableModel, PortableProvider, Skipped};
use crate::error::{Error, Result};
use crate::id::ProviderId;
use crate::model::{Api, Auth, ModelMetadata, NetworkAllowance};

/// Reads Zed's settings or Continue's `config.yaml`.
pub(super) fn read(text: &str) -> Result<Candidates> {
    let jsonc =
        jsonc_parser::parse_to_serde_value::<Value>(text, &jsonc_parser::ParseOptions::default());
    if let Ok(Value::Object(settings)) = &jsonc {
        if settings.contains_key("language_models") {
            return Ok(zed(settings));
        }
        return Err(Error::invalid(
            "file",
            "This JSON file is neither a Patchbay export (`\"format\": \"patchbay-export\"`) nor Zed settings with a `language_models` section; nothing was imported.",
        ));
    }
    match YamlLoader::load_from_str(text) {
        Ok(documents) => match documents.first() {
            Some(Yaml::Hash(_)) if !documents[0]["models"].is_badvalue() => Ok(continue_config(&documents[0])),
            _ => Err(not_recognised()),
        },
        Err(error) => Err(Error::invalid(
            "file",
            format!(
                "The file could not be read as a Patchbay export, Zed settings (JSON) or a Continue config.yaml (YAML: {error}); nothing was imported."
            ),
        )),
    }
}

fn not_recognised() -> Error {
    Error::invalid(
        "file",
        "This is not a Patchbay export, Zed settings (`language_models`) or a Continue config.yaml (`models`); nothing was imported.",
    )
}

/// Local servers (loopback) need the `local` allowance; the rest stay remote.
fn network_for(base_url: &str) -> NetworkAllowance {
    let host = url::Url::parse(base_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        NetworkAllowance::Local
    } else {
        NetworkAllowance::Remote
    }
}

fn provider(
    id_from: &str,
    label: &str,
    base_url: &str,
    auth: Auth,
    preset: Option<&str>,
    taken: &mut Vec<ProviderId>,
) -> PortableProvider {
    let id = ProviderId::generate(id_from, taken.iter());
    taken.push(id.clone());
    PortableProvider {
        id: id.to_string(),
        label: label.chars().take(64).collect(),
        preset: preset.map(str::to_owned),
        base_url: base_url.to_owned(),
        auth,
        api: Api::Openai,
        api_version: None,
        models: Vec::new(),
        enabled: true,
        network: network_for(base_url),
        headers: Vec::new(),
        timeout_secs: None,
        proxy: None,
        proxy_username: None,
    }
}

// ── Zed ────────────────────────────────────────────────────────────────

/// A Zed `available_models` entry: `name`, `display_name`, `max_tokens`
/// (the context window), `max_output_tokens`, and `capabilities.tools` /
/// `.images` (or the older `supports_tools` / `supports_images`).
fn zed_model(entry: &Value) -> Option<PortableModel> {
    let id = entry.get("name")?.as_str()?.trim();
    if id.is_empty() {
        return None;
    }
    let flag = |nested: &str, flat: &str| {
        entry
            .get("capabilities")
            .and_then(|capabilities| capabilities.get(nested))
            .or_else(|| entry.get(flat))
            .and_then(Value::as_bool)
    };
    let images = flag("images", "supports_images");
    Some(PortableModel {
        id: id.to_owned(),
        display_name: entry
            .get("display_name")
            .and_then(Value::as_str)
            .map(|name| name.trim().chars().take(80).collect())
            .filter(|name: &String| !name.is_empty()),
        hidden: false,
        metadata: ModelMetadata {
            context_window: entry.get("max_tokens").and_then(Value::as_u64),
            max_output_tokens: entry.get("max_output_tokens").and_then(Value::as_u64),
            supports_tools: flag("tools", "supports_tools"),
            input_modalities: match images {
                Some(true) => vec!["text".into(), "image".into()],
                Some(false) => vec!["text".into()],
                None => Vec::new(),
            },
            ..ModelMetadata::default()
        },
    })
}

fn zed(settings: &Map<String, Value>) -> Candidates {
    let mut providers = Vec::new();
    let mut skipped = Vec::new();
    let mut taken = Vec::new();
    let Some(Value::Object(sections)) = settings.get("language_models") else {
        return Candidates {
            source: ImportSource::Zed,
            providers,
            skipped,
        };
    };
    let mut other_sections = Vec::new();
    let mut add = |name: &str,
                   label: &str,
                   section: &Value,
                   auth: Auth,
                   preset: Option<&str>,
                   default_url: Option<&str>| {
        let url = section
            .get("api_url")
            .and_then(Value::as_str)
            .or(default_url);
        let Some(url) = url else {
            skipped.push(Skipped {
                what: format!("Zed: {name}"),
                why: "no api_url".to_owned(),
            });
            return;
        };
        let mut imported = provider(label, label, url, auth, preset, &mut taken);
        let models = section.get("available_models").and_then(Value::as_array);
        for entry in models.into_iter().flatten() {
            match zed_model(entry) {
                Some(model) => imported.models.push(model),
                None => skipped.push(Skipped {
                    what: format!("Zed: a model of {name}"),
                    why: "it has no `name`".to_owned(),
                }),
            }
        }
        if imported.models.is_empty() {
            skipped.push(Skipped {
                what: format!("Zed: {name}"),
                why: "no models listed in available_models (Patchbay needs at least one)"
                    .to_owned(),
            });
            return;
        }
        providers.push(imported);
    };
    for (key, section) in sections {
        match key.as_str() {
            "openai_compatible" => {
                for (name, provider) in section.as_object().into_iter().flatten() {
                    add(
                        &format!("openai_compatible \"{name}\""),
                        name,
                        provider,
                        Auth::ApiKey,
                        None,
                        None,
                    );
                }
            }
            "openai"
                if section.get("api_url").is_some()
                    || section.get("available_models").is_some() =>
            {
                add(
                    "openai",
                    "OpenAI",
                    section,
                    Auth::ApiKey,
                    Some("openai"),
                    Some("https://api.openai.com/v1"),
                );
            }
            // Zed talks to these servers' own APIs; Patchbay to their
            // OpenAI-compatible `/v1` on the same host.
            "ollama" | "lmstudio" => {
                let (label, preset, default) = if key == "ollama" {
                    ("Ollama", "ollama", "http://localhost:11434")
                } else {
                    ("LM Studio", "lm-studio", "http://localhost:1234")
                };
                let url = section
                    .get("api_url")
                    .and_then(Value::as_str)
                    .unwrap_or(default);
                let origin = url::Url::parse(url)
                    .map(|url| url.origin().ascii_serialization())
                    .unwrap_or_else(|_| default.to_owned());
                let mut section = section.clone();
                section["api_url"] = Value::String(format!("{origin}/v1"));
                add(key, label, &section, Auth::None, Some(preset), None);
            }
            other => other_sections.push(Skipped {
                what: format!("Zed: language_models.{other}"),
                why: "not an OpenAI-compatible endpoint Patchbay imports (add it from a preset)"
                    .to_owned(),
            }),
        }
    }
    skipped.extend(other_sections);
    skipped.push(Skipped {
        what: "Zed: API keys".to_owned(),
        why: "keys stay in Zed's credential store; add each provider's key in Patchbay after the import".to_owned(),
    });
    Candidates {
        source: ImportSource::Zed,
        providers,
        skipped,
    }
}

// ── Continue ───────────────────────────────────────────────────────────

/// Continue's providers Patchbay imports, with their default base URL and
/// preset; `apiBase` overrides the URL.
const CONTINUE_PROVIDERS: &[(&str, &str, &str, Auth, &str)] = &[
    (
        "openai",
        "OpenAI",
        "https://api.openai.com/v1",
        Auth::ApiKey,
        "openai",
    ),
    (
        "ollama",
        "Ollama",
        "http://localhost:11434/v1",
        Auth::None,
        "ollama",
    ),
    (
        "lmstudio",
        "LM Studio",
        "http://localhost:1234/v1",
        Auth::None,
        "lm-studio",
    ),
    (
        "groq",
        "Groq",
        "https://api.groq.com/openai/v1",
        Auth::ApiKey,
        "groq",
    ),
    (
        "openrouter",
        "OpenRouter",
        "https://openrouter.ai/api/v1",
        Auth::ApiKey,
        "openrouter",
    ),
    (
        "together",
        "Together",
        "https://api.together.xyz/v1",
        Auth::ApiKey,
        "together",
    ),
    (
        "deepseek",
        "DeepSeek",
        "https://api.deepseek.com/v1",
        Auth::ApiKey,
        "deepseek",
    ),
    (
        "mistral",
        "Mistral",
        "https://api.mistral.ai/v1",
        Auth::ApiKey,
        "mistral",
    ),
    (
        "fireworks",
        "Fireworks",
        "https://api.fireworks.ai/inference/v1",
        Auth::ApiKey,
        "fireworks",
    ),
    ("xAI", "xAI", "https://api.x.ai/v1", Auth::ApiKey, "xai"),
    (
        "vllm",
        "vLLM",
        "http://localhost:8000/v1",
        Auth::None,
        "vllm",
    ),
    (
        "llamacpp",
        "llama.cpp",
        "http://localhost:8080/v1",
        Auth::None,
        "llama-cpp",
    ),
];

fn text(yaml: &Yaml) -> Option<&str> {
    yaml.as_str().map(str::trim).filter(|text| !text.is_empty())
}

fn continue_config(document: &Yaml) -> Candidates {
    let mut providers: Vec<PortableProvider> = Vec::new();
    let mut skipped = Vec::new();
    let mut taken = Vec::new();
    let mut keys_seen: HashSet<String> = HashSet::new();
    for (index, model) in document["models"]
        .as_vec()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = text(&model["name"]).unwrap_or("a model");
        let Some(kind) = text(&model["provider"]) else {
            skipped.push(Skipped {
                what: format!("Continue: models[{index}] ({name})"),
                why: "no `provider`".to_owned(),
            });
            continue;
        };
        let Some(model_id) = text(&model["model"]) else {
            skipped.push(Skipped {
                what: format!("Continue: models[{index}] ({name})"),
                why: "no `model` id".to_owned(),
            });
            continue;
        };
        let known = CONTINUE_PROVIDERS
            .iter()
            .find(|(id, ..)| id.eq_ignore_ascii_case(kind));
        let api_base = text(&model["apiBase"]);
        let (label, base_url, auth, preset) = match (known, api_base) {
            (Some((_, label, default, auth, preset)), base) => {
                // A custom apiBase on "openai" is an OpenAI-compatible server of its own.
                let custom = base.is_some_and(|base| {
                    base.trim_end_matches('/') != default.trim_end_matches('/')
                });
                let label = if custom {
                    host_label(base.unwrap_or(default))
                } else {
                    (*label).to_owned()
                };
                let auth = if custom
                    && kind.eq_ignore_ascii_case("openai")
                    && network_for(base.unwrap_or(default)) == NetworkAllowance::Local
                {
                    Auth::None
                } else {
                    *auth
                };
                (
                    label,
                    base.unwrap_or(default).to_owned(),
                    auth,
                    (!custom).then_some(*preset),
                )
            }
            (None, _) => {
                skipped.push(Skipped {
                    what: format!("Continue: {name} ({kind})"),
                    why: format!(
                        "the `{kind}` provider does not speak the OpenAI API Patchbay imports"
                    ),
                });
                continue;
            }
        };
        if text(&model["apiKey"]).is_some() && keys_seen.insert(base_url.clone()) {
            skipped.push(Skipped {
                what: format!("Continue: the apiKey of {name}"),
                why: "keys stay in Continue's config; add the key in Patchbay after the import"
                    .to_owned(),
            });
        }
        if !model["requestOptions"]["headers"].is_badvalue() {
            skipped.push(Skipped {
                what: format!("Continue: requestOptions.headers of {name}"),
                why: "headers may carry secrets; add the ones you need under Advanced".to_owned(),
            });
        }
        let roles: Vec<&str> = model["roles"]
            .as_vec()
            .into_iter()
            .flatten()
            .filter_map(Yaml::as_str)
            .collect();
        if !roles.is_empty()
            && !roles
                .iter()
                .any(|role| matches!(*role, "chat" | "edit" | "apply"))
        {
            skipped.push(Skipped {
                what: format!("Continue: {name}"),
                why: format!("its roles ({}) are not chat models", roles.join(", ")),
            });
            continue;
        }
        let capabilities: Vec<&str> = model["capabilities"]
            .as_vec()
            .into_iter()
            .flatten()
            .filter_map(Yaml::as_str)
            .collect();
        let portable_model = PortableModel {
            id: model_id.to_owned(),
            display_name: (name != model_id).then(|| name.chars().take(80).collect()),
            hidden: false,
            metadata: ModelMetadata {
                context_window: model["defaultCompletionOptions"]["contextLength"]
                    .as_i64()
                    .and_then(|n| u64::try_from(n).ok()),
                max_output_tokens: model["defaultCompletionOptions"]["maxTokens"]
                    .as_i64()
                    .and_then(|n| u64::try_from(n).ok()),
                supports_tools: capabilities.contains(&"tool_use").then_some(true),
                input_modalities: if capabilities.contains(&"image_input") {
                    vec!["text".into(), "image".into()]
                } else {
                    Vec::new()
                },
                ..ModelMetadata::default()
            },
        };
        match providers
            .iter_mut()
            .find(|provider| provider.base_url == base_url)
        {
            Some(existing) if existing.models.iter().any(|model| model.id == model_id) => {}
            Some(existing) => existing.models.push(portable_model),
            None => {
                let mut imported = provider(&label, &label, &base_url, auth, preset, &mut taken);
                imported.models.push(portable_model);
                providers.push(imported);
            }
        }
    }
    Candidates {
        source: ImportSource::Continue,
        providers,
        skipped,
    }
}

/// A label for a custom base URL: its host (`localhost:8000`).
fn host_label(base_url: &str) -> String {
    url::Url::parse(base_url)
        .ok()
        .and_then(|url| {
            url.host_str().map(|host| match url.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_owned(),
            })
        })
        .unwrap_or_else(|| "Imported endpoint".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zed_settings_with_comments_and_trailing_commas() {
        let settings = r#"{
          // Zed's settings
          "theme": "One Dark",
          "language_models": {
            "openai_compatible": {
              "Together AI": {
                "api_url": "https://api.together.xyz/v1",
                "available_models": [
                  {"name": "mistralai/Mixtral-8x7B-Instruct-v0.1", "display_name": "Together Mixtral 8x7B", "max_tokens": 32768,
                   "capabilities": {"tools": true, "images": false, "parallel_tool_calls": false, "prompt_cache_key": false}},
                ],
              },
            },
            "ollama": {"api_url": "http://localhost:11434", "available_models": [{"name": "qwen2.5-coder", "max_tokens": 32768, "supports_tools": true}]},
            "anthropic": {"available_models": []},
          },
        }"#;
        let candidates = read(settings).expect("zed");
        assert_eq!(candidates.source, ImportSource::Zed);
        let together = &candidates.providers[0];
        assert_eq!(together.label, "Together AI");
        assert_eq!(together.base_url, "https://api.together.xyz/v1");
        assert_eq!(together.auth, Auth::ApiKey);
        assert_eq!(
            together.models[0].display_name.as_deref(),
            Some("Together Mixtral 8x7B")
        );
        assert_eq!(together.models[0].metadata.context_window, Some(32768));
        assert_eq!(together.models[0].metadata.supports_tools, Some(true));
        assert_eq!(together.models[0].metadata.input_modalities, ["text"]);
        let ollama = &candidates.providers[1];
        assert_eq!(ollama.base_url, "http://localhost:11434/v1");
        assert_eq!(
            (ollama.auth, ollama.network),
            (Auth::None, NetworkAllowance::Local)
        );
        assert!(candidates
            .skipped
            .iter()
            .any(|skipped| skipped.what.contains("anthropic")));
    }

    #[test]
    fn continue_models_grouped_by_endpoint_without_their_keys() {
        let config = r#"
name: My Config
version: 0.0.1
schema: v1
models:
  - name: GPT-4o
    provider: openai
    model: gpt-4o
    apiKey: sk-continue-secret-0000
    capabilities: [tool_use, image_input]
  - name: Local vLLM
    provider: openai
    model: Qwen/Qwen2.5-7B
    apiBase: http://localhost:8000/v1
  - name: Embedder
    provider: ollama
    model: nomic-embed-text
    roles: [embed]
  - name: Llama
    provider: ollama
    model: llama3.1:8b
    defaultCompletionOptions:
      contextLength: 8192
  - name: Claude
    provider: anthropic
    model: claude-sonnet-4
"#;
        let candidates = read(config).expect("continue");
        assert_eq!(candidates.source, ImportSource::Continue);
        let labels: Vec<&str> = candidates
            .providers
            .iter()
            .map(|provider| provider.label.as_str())
            .collect();
        assert_eq!(labels, ["OpenAI", "localhost:8000", "Ollama"]);
        assert_eq!(
            candidates.providers[0].models[0].metadata.supports_tools,
            Some(true)
        );
        assert_eq!(candidates.providers[1].auth, Auth::None);
        assert_eq!(candidates.providers[2].models[0].id, "llama3.1:8b");
        assert_eq!(
            candidates.providers[2].models[0].metadata.context_window,
            Some(8192)
        );
        let skipped = format!("{:?}", candidates.skipped);
        assert!(
            skipped.contains("apiKey of GPT-4o")
                && skipped.contains("anthropic")
                && skipped.contains("embed"),
            "{skipped}"
        );
        assert!(
            !format!("{candidates:?}").contains("sk-continue-secret"),
            "no key is read into anything"
        );
    }

    #[test]
    fn something_else_is_refused_with_what_was_expected() {
        let error = read("just: [a, yaml, file]").expect_err("not continue");
        assert!(
            error.to_string().contains("Continue config.yaml"),
            "{error}"
        );
        let error = read("{\"not\": \"zed\"}").expect_err("not zed");
        assert!(error.to_string().contains("Patchbay export"), "{error}");
    }
}
