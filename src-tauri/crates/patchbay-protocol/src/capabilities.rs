//! What a model can do, and how Patchbay knows: a capability is
//! `advertised` (the provider's model list says so), `probed` (Patchbay
//! sent a small real request on the person's say-so and saw what the model
//! did, on a date), or `unknown`.
//!
//! The file keeps only what probing found ([`ProbedCapabilities`], a
//! model's `probed` field); [`capabilities_of`] combines it with the
//! advertised metadata into the [`Capabilities`] that entries, the
//! gateway's model list and the window show. A probe that could not tell
//! (a timeout, a rate limit, a refused key) keeps its reason and never
//! counts as "unsupported".

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::ModelEntry;

/// The capabilities Patchbay probes, in the order it probes them.
pub const PROBED: [Capability; 4] = [
    Capability::Streaming,
    Capability::Tools,
    Capability::ImageInput,
    Capability::JsonOutput,
];

/// One probed capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Answers arrive as a stream of chunks (`stream: true`).
    Streaming,
    /// A request with one tool and `tool_choice` set comes back as a call of it.
    Tools,
    /// A user message with an image is answered.
    ImageInput,
    /// `response_format: {"type": "json_object"}` gives a JSON object.
    JsonOutput,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Streaming => "streaming",
            Self::Tools => "tools",
            Self::ImageInput => "image_input",
            Self::JsonOutput => "json_output",
        }
    }

    /// Parses the wire name (`image_input`; `images` and `json` too).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim() {
            "streaming" | "stream" => Some(Self::Streaming),
            "tools" | "tool_calls" => Some(Self::Tools),
            "image_input" | "images" | "vision" => Some(Self::ImageInput),
            "json_output" | "json" => Some(Self::JsonOutput),
            _ => None,
        }
    }
}

/// What one probe request showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeOutcome {
    /// `true` / `false` when the probe could tell; `null` when it could not.
    pub supported: Option<bool>,
    /// Why it could not tell (`timeout`, `rate_limited`, `unauthorized`,
    /// `server_error`, …: a `kind`), when `supported` is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// One sentence: what the model did or why the probe could not tell
    /// (Patchbay's own words, at most 300 characters; never a raw body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ProbeOutcome {
    pub fn supported(detail: impl Into<String>) -> Self {
        Self {
            supported: Some(true),
            reason: None,
            detail: Some(detail.into()),
        }
    }
    pub fn unsupported(detail: impl Into<String>) -> Self {
        Self {
            supported: Some(false),
            reason: None,
            detail: Some(detail.into()),
        }
    }
    pub fn undetermined(reason: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            supported: None,
            reason: Some(reason.into()),
            detail: Some(detail.into()),
        }
    }
}

/// What the last capability check of a model found (a model's `probed`
/// field in `providers.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbedCapabilities {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<ProbeOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ProbeOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_input: Option<ProbeOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_output: Option<ProbeOutcome>,
}

impl ProbedCapabilities {
    pub fn get(&self, capability: Capability) -> Option<&ProbeOutcome> {
        match capability {
            Capability::Streaming => self.streaming.as_ref(),
            Capability::Tools => self.tools.as_ref(),
            Capability::ImageInput => self.image_input.as_ref(),
            Capability::JsonOutput => self.json_output.as_ref(),
        }
    }

    pub fn set(&mut self, capability: Capability, outcome: ProbeOutcome) {
        let slot = match capability {
            Capability::Streaming => &mut self.streaming,
            Capability::Tools => &mut self.tools,
            Capability::ImageInput => &mut self.image_input,
            Capability::JsonOutput => &mut self.json_output,
        };
        *slot = Some(outcome);
    }

    /// A later check: its conclusive answers replace the earlier ones; an
    /// inconclusive one keeps an earlier conclusive answer (a rate limit
    /// today does not undo yesterday's "supported") but records why.
    pub fn merged_over(self, earlier: Option<&ProbedCapabilities>) -> ProbedCapabilities {
        let Some(earlier) = earlier else {
            return self;
        };
        let mut merged = self.clone();
        for capability in PROBED {
            if let (Some(now), Some(before)) = (self.get(capability), earlier.get(capability)) {
                if now.supported.is_none() && before.supported.is_some() {
                    merged.set(
                        capability,
                        ProbeOutcome {
                            supported: before.supported,
                            reason: now.reason.clone(),
                            detail: now.detail.clone(),
                        },
                    );
                }
            }
        }
        merged
    }
}

/// Where a capability's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Advertised,
    Probed,
    Unknown,
}

/// One capability as shown: its value and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known<T> {
    pub value: Option<T>,
    pub source: Source,
    /// When it was probed (`source: probed`).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub at: Option<OffsetDateTime>,
    /// Why the last probe could not tell, when it could not (the value then
    /// comes from an earlier probe, the model list, or is unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_failed: Option<String>,
}

impl<T> Known<T> {
    fn unknown() -> Self {
        Self {
            value: None,
            source: Source::Unknown,
            at: None,
            probe_failed: None,
        }
    }
    fn advertised(value: Option<T>) -> Self {
        match value {
            Some(value) => Self {
                value: Some(value),
                source: Source::Advertised,
                at: None,
                probe_failed: None,
            },
            None => Self::unknown(),
        }
    }
}

/// Everything known about what a model can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    pub streaming: Known<bool>,
    pub tools: Known<bool>,
    pub image_input: Known<bool>,
    pub json_output: Known<bool>,
    pub context_window: Known<u64>,
    pub max_output_tokens: Known<u64>,
}

impl Default for Capabilities {
    /// Nothing known (what an entry from an older server reads as).
    fn default() -> Self {
        Self {
            streaming: Known::unknown(),
            tools: Known::unknown(),
            image_input: Known::unknown(),
            json_output: Known::unknown(),
            context_window: Known::unknown(),
            max_output_tokens: Known::unknown(),
        }
    }
}

impl Capabilities {
    pub fn get(&self, capability: Capability) -> &Known<bool> {
        match capability {
            Capability::Streaming => &self.streaming,
            Capability::Tools => &self.tools,
            Capability::ImageInput => &self.image_input,
            Capability::JsonOutput => &self.json_output,
        }
    }

    /// Whether the model is known to have `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        self.get(capability).value == Some(true)
    }
}

/// The capabilities of `model`: a conclusive probe wins, then what the
/// model list advertised, else unknown.
pub fn capabilities_of(model: &ModelEntry) -> Capabilities {
    let metadata = &model.metadata;
    let advertised_images = if metadata.input_modalities.is_empty() {
        None
    } else {
        Some(
            metadata
                .input_modalities
                .iter()
                .any(|modality| modality == "image"),
        )
    };
    let advertised = |capability: Capability| -> Option<bool> {
        match capability {
            Capability::Tools => metadata.supports_tools,
            Capability::ImageInput => advertised_images,
            Capability::Streaming | Capability::JsonOutput => None,
        }
    };
    let known = |capability: Capability| -> Known<bool> {
        let probe = model
            .probed
            .as_ref()
            .and_then(|probed| probed.get(capability).map(|outcome| (probed.at, outcome)));
        match probe {
            Some((at, outcome)) => match outcome.supported {
                Some(value) => Known {
                    value: Some(value),
                    source: Source::Probed,
                    at: Some(at),
                    probe_failed: outcome.reason.clone(),
                },
                None => Known {
                    probe_failed: outcome.reason.clone(),
                    ..Known::advertised(advertised(capability))
                },
            },
            None => Known::advertised(advertised(capability)),
        }
    };
    Capabilities {
        streaming: known(Capability::Streaming),
        tools: known(Capability::Tools),
        image_input: known(Capability::ImageInput),
        json_output: known(Capability::JsonOutput),
        context_window: Known::advertised(metadata.context_window),
        max_output_tokens: Known::advertised(metadata.max_output_tokens),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelMetadata;
    use time::macros::datetime;

    #[test]
    fn a_conclusive_probe_wins_over_the_model_list_and_an_inconclusive_one_does_not() {
        let mut model = ModelEntry::new("m");
        model.metadata = ModelMetadata {
            supports_tools: Some(false),
            input_modalities: vec!["text".into()],
            context_window: Some(8192),
            ..ModelMetadata::default()
        };
        let plain = capabilities_of(&model);
        assert_eq!(plain.tools.value, Some(false));
        assert_eq!(plain.tools.source, Source::Advertised);
        assert_eq!(plain.image_input.value, Some(false));
        assert_eq!(plain.streaming.source, Source::Unknown);
        assert_eq!(plain.context_window.value, Some(8192));

        model.probed = Some(ProbedCapabilities {
            at: datetime!(2026-12-05 12:00 UTC),
            streaming: Some(ProbeOutcome::supported("chunks arrived")),
            tools: Some(ProbeOutcome::supported("called the tool")),
            image_input: Some(ProbeOutcome::undetermined("rate_limited", "429")),
            json_output: Some(ProbeOutcome::unsupported("400")),
        });
        let probed = capabilities_of(&model);
        assert_eq!(
            (probed.tools.value, probed.tools.source),
            (Some(true), Source::Probed)
        );
        assert_eq!(probed.tools.at, Some(datetime!(2026-12-05 12:00 UTC)));
        assert_eq!(
            probed.image_input.value,
            Some(false),
            "the list's answer stays"
        );
        assert_eq!(probed.image_input.source, Source::Advertised);
        assert_eq!(
            probed.image_input.probe_failed.as_deref(),
            Some("rate_limited")
        );
        assert_eq!(probed.json_output.value, Some(false));
        assert!(probed.has(Capability::Streaming) && !probed.has(Capability::JsonOutput));
    }

    #[test]
    fn a_later_inconclusive_probe_keeps_the_earlier_answer_with_its_reason() {
        let earlier = ProbedCapabilities {
            at: datetime!(2026-12-01 12:00 UTC),
            streaming: Some(ProbeOutcome::supported("ok")),
            tools: Some(ProbeOutcome::unsupported("text")),
            image_input: None,
            json_output: None,
        };
        let later = ProbedCapabilities {
            at: datetime!(2026-12-05 12:00 UTC),
            streaming: Some(ProbeOutcome::undetermined("timeout", "no answer in 30 s")),
            tools: Some(ProbeOutcome::supported("called")),
            image_input: Some(ProbeOutcome::undetermined("timeout", "no answer")),
            json_output: None,
        };
        let merged = later.merged_over(Some(&earlier));
        let streaming = merged.streaming.as_ref().expect("streaming");
        assert_eq!(streaming.supported, Some(true));
        assert_eq!(streaming.reason.as_deref(), Some("timeout"));
        assert_eq!(
            merged.tools.as_ref().and_then(|tools| tools.supported),
            Some(true)
        );
        assert_eq!(
            merged
                .image_input
                .as_ref()
                .and_then(|probe| probe.supported),
            None
        );
    }

    #[test]
    fn capability_names_round_trip() {
        for capability in PROBED {
            assert_eq!(Capability::parse(capability.as_str()), Some(capability));
            let json = serde_json::to_value(capability).expect("json");
            assert_eq!(json, capability.as_str());
        }
        assert_eq!(Capability::parse("vision"), Some(Capability::ImageInput));
        assert_eq!(Capability::parse("telepathy"), None);
    }
}
