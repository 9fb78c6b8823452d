//! Model discovery: turning a `GET {base}/models` answer into
//! [`DiscoveredModel`]s, fetching it, and merging a refresh into the models a
//! user chose.
//!
//! The parser is tolerant of shape and strict about JSON. It accepts the
//! OpenAI list (`{"object":"list","data":[…]}`), a bare array (Together), a
//! `{"models":[…]}` object (Ollama's native `/api/tags`, where the id is
//! `model`/`name`) and Ollama's `"data": null` (zero models — a fresh install,
//! not an error). Entries without `created`/`owned_by`, with ids of the wrong
//! type, or with unknown fields are fine: a bad entry is skipped, never the
//! whole list. What is not a list at all — an error envelope (even with HTTP
//! 200), an HTML page, truncated JSON, a scalar — is a classified
//! [`DiscoveryError`], never "0 models", because "0 models" would make the UI
//! tell the user their account is empty.
//!
//! Speed matters (OpenRouter's catalog is ~430 KB, some gateways list 10k+
//! models), so the parser walks the document once with hand-written serde
//! visitors: keys and ids are borrowed from the input when they have no
//! escapes, every field we don't use is skipped with `IgnoredAny`, and
//! nothing builds a `serde_json::Value`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use patchbay_core::model::{ModelEntry, ModelMetadata};
use patchbay_core::Kind;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Serialize;

/// The `visit_*` methods of a lenient visitor for the JSON shapes it does
/// not use: each consumes the value (skipping arrays and objects element by
/// element, without building them) and answers `$none`.
macro_rules! skip_other_shapes {
    ($none:expr; $($shape:ident),+) => {
        $(skip_other_shapes!(@shape $shape, $none);)+
    };
    (@shape unit, $none:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@shape bool, $none:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@shape i64, $none:expr) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@shape u64, $none:expr) => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@shape f64, $none:expr) => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@shape str, $none:expr) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
    (@shape seq, $none:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
            while sequence.next_element::<IgnoredAny>()?.is_some() {}
            Ok($none)
        }
    };
    (@shape map, $none:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($none)
        }
    };
}

/// One model a server listed, with whatever metadata it published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscoveredModel {
    /// The upstream id, byte-for-byte.
    pub id: String,
    #[serde(flatten)]
    pub metadata: ModelMetadata,
}

impl DiscoveredModel {
    /// The entry a user's model list stores when they pick this model.
    pub fn to_entry(&self) -> ModelEntry {
        ModelEntry {
            id: self.id.clone(),
            metadata: self.metadata.clone(),
            missing_upstream: false,
            display_name: None,
            hidden: false,
            probed: None,
        }
    }
}

/// Why a body is not a model list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    #[error("the answer is an HTML page, not a model list")]
    Html,
    #[error("the answer is not JSON ({detail})")]
    NotJson { detail: String },
    #[error("the model list ends in the middle (truncated JSON)")]
    Truncated,
    #[error("the JSON is not a model list ({detail})")]
    WrongShape { detail: String },
    /// `{"error": …}` instead of a list. The provider's text is kept apart
    /// (see [`DiscoveryError::provider_text`]) so that `Display` can never
    /// show it unredacted.
    #[error("the server answered with an error instead of a model list")]
    ErrorEnvelope { provider_text: Option<String> },
}

impl DiscoveryError {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Html | Self::NotJson { .. } => Kind::NotJson,
            Self::Truncated | Self::WrongShape { .. } => Kind::BadResponse,
            Self::ErrorEnvelope { .. } => Kind::ErrorEnvelope,
        }
    }

    /// The error text inside an error envelope, unredacted: pass it through
    /// the caller's redaction before showing it.
    pub fn provider_text(&self) -> Option<&str> {
        match self {
            Self::ErrorEnvelope { provider_text } => provider_text.as_deref(),
            _ => None,
        }
    }
}

/// Parses a `/models` body. See the module docs for the accepted shapes.
pub fn parse_models(body: &[u8]) -> Result<Vec<DiscoveredModel>, DiscoveryError> {
    let trimmed = trim_start(body);
    if trimmed.first() == Some(&b'<') {
        return Err(DiscoveryError::Html);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(trimmed);
    let parsed = Root::deserialize_from(&mut deserializer).and_then(|root| {
        deserializer.end()?;
        Ok(root)
    });
    let root = match parsed {
        Ok(root) => root,
        Err(error) => return Err(classify(&error)),
    };
    match root {
        Root::Error(provider_text) => Err(DiscoveryError::ErrorEnvelope { provider_text }),
        Root::List(entries) => Ok(finish(entries)),
    }
}

fn trim_start(body: &[u8]) -> &[u8] {
    let without_bom = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = without_bom
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(without_bom.len());
    &without_bom[start..]
}

fn classify(error: &serde_json::Error) -> DiscoveryError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Eof => DiscoveryError::Truncated,
        Category::Syntax | Category::Io => DiscoveryError::NotJson {
            detail: format!(
                "invalid JSON at line {}, column {}",
                error.line(),
                error.column()
            ),
        },
        // serde's own data errors quote the offending value ("invalid
        // type: string \"…\""), which may be a key the server echoed: a
        // fixed sentence instead.
        Category::Data => DiscoveryError::WrongShape {
            detail: "expected an object with a `data` array of models, or an array".to_owned(),
        },
    }
}

fn finish(entries: Vec<RawEntry<'_>>) -> Vec<DiscoveredModel> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(entries.len());
    let mut unique: Vec<&RawEntry<'_>> = Vec::with_capacity(entries.len());
    for entry in &entries {
        let Some(id) = entry.id() else { continue };
        if seen.insert(id) {
            unique.push(entry);
        }
    }
    unique.into_iter().filter_map(RawEntry::to_model).collect()
}

/// What the top level turned out to be.
enum Root<'de> {
    List(Vec<RawEntry<'de>>),
    Error(Option<String>),
}

impl<'de> Root<'de> {
    fn deserialize_from<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RootVisitor)
    }
}

struct RootVisitor;

impl<'de> Visitor<'de> for RootVisitor {
    type Value = Root<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a model list (an object with `data` or `models`, or an array)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, sequence: A) -> Result<Self::Value, A::Error> {
        EntriesVisitor.visit_seq(sequence).map(Root::List)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut list: Option<Vec<RawEntry<'de>>> = None;
        let mut data_null = false;
        let mut error: Option<Option<String>> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "data" | "models" => match map.next_value::<Option<Entries<'de>>>()? {
                    Some(Entries(entries)) => match &mut list {
                        Some(existing) => existing.extend(entries),
                        None => list = Some(entries),
                    },
                    None => data_null = true,
                },
                "error" => {
                    let value: Option<ErrorValue> = map.next_value()?;
                    // `"error": null` next to a list is some gateways' way of
                    // saying "no error".
                    if let Some(ErrorValue(text)) = value {
                        error = Some(text);
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(text) = error {
            return Ok(Root::Error(text));
        }
        match (list, data_null) {
            (Some(entries), _) => Ok(Root::List(entries)),
            (None, true) => Ok(Root::List(Vec::new())),
            (None, false) => Err(de::Error::custom(
                "an object without a `data` or `models` list",
            )),
        }
    }
}

/// The list itself. Entries of any type are accepted here; [`RawEntry`]
/// decides what is usable.
struct Entries<'de>(Vec<RawEntry<'de>>);

impl<'de> de::Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntriesVisitor).map(Entries)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Vec<RawEntry<'de>>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of models")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(sequence.size_hint().unwrap_or(64).min(16_384));
        while let Some(entry) = sequence.next_element::<RawEntry<'de>>()? {
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// The text of an `error` field: a string, or an object's `message`.
struct ErrorValue(Option<String>);

impl<'de> de::Deserialize<'de> for ErrorValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ErrorVisitor;
        impl<'de> Visitor<'de> for ErrorVisitor {
            type Value = ErrorValue;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an error")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(ErrorValue(Some(text.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut message = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "message" {
                        message = map
                            .next_value::<Lenient<LenientText<'de>>>()?
                            .0
                            .map(Cow::into_owned);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(ErrorValue(message))
            }
            skip_other_shapes!(ErrorValue(None); seq, bool, i64, u64, f64);
        }
        deserializer.deserialize_any(ErrorVisitor)
    }
}

/// One list entry as found, before deciding whether it is usable.
#[derive(Default)]
struct RawEntry<'de> {
    id: Option<Cow<'de, str>>,
    model: Option<Cow<'de, str>>,
    name: Option<Cow<'de, str>>,
    display_name: Option<Cow<'de, str>>,
    owned_by: Option<Cow<'de, str>>,
    organization: Option<Cow<'de, str>>,
    context_length: Option<u64>,
    context_window: Option<u64>,
    max_model_len: Option<u64>,
    max_context_length: Option<u64>,
    max_completion_tokens: Option<u64>,
    max_output_tokens: Option<u64>,
    input_modalities: Option<Vec<Cow<'de, str>>>,
    supported_parameters: Option<Vec<Cow<'de, str>>>,
    capabilities: Option<Vec<Cow<'de, str>>>,
    top_provider: TopProvider,
    /// The entry was a bare string (`"models": ["a", "b"]`).
    bare: Option<Cow<'de, str>>,
}

#[derive(Default)]
struct TopProvider {
    context_length: Option<u64>,
    max_completion_tokens: Option<u64>,
}

impl<'de> RawEntry<'de> {
    /// The id: `id`, else Ollama's native `model`, else `name` (Ollama's
    /// native list has no `id`). Blank ids are not usable.
    fn id(&self) -> Option<&str> {
        let candidate = if self.bare.is_some() {
            self.bare.as_deref()
        } else {
            self.id
                .as_deref()
                .or(self.model.as_deref())
                .or(self.name.as_deref())
        };
        candidate.filter(|id| !id.trim().is_empty())
    }

    fn to_model(&self) -> Option<DiscoveredModel> {
        let id = self.id()?;
        // In Ollama's native list `name` is the id again, not a display name.
        let name = self
            .display_name
            .as_deref()
            .or(self.name.as_deref())
            .filter(|name| *name != id && !name.trim().is_empty());
        let supports_tools = match (&self.supported_parameters, &self.capabilities) {
            (Some(parameters), _) => Some(parameters.iter().any(|parameter| parameter == "tools")),
            (None, Some(capabilities)) => {
                Some(capabilities.iter().any(|capability| capability == "tools"))
            }
            (None, None) => None,
        };
        let metadata = ModelMetadata {
            name: name.map(str::to_owned),
            context_window: self
                .context_length
                .or(self.context_window)
                .or(self.max_model_len)
                .or(self.max_context_length)
                .or(self.top_provider.context_length),
            max_output_tokens: self
                .top_provider
                .max_completion_tokens
                .or(self.max_completion_tokens)
                .or(self.max_output_tokens),
            input_modalities: self
                .input_modalities
                .as_ref()
                .map(|modalities| {
                    modalities
                        .iter()
                        .map(|modality| modality.as_ref().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            supports_tools,
            owned_by: self
                .owned_by
                .as_deref()
                .or(self.organization.as_deref())
                .map(str::to_owned),
        };
        Some(DiscoveredModel {
            id: id.to_owned(),
            metadata,
        })
    }
}

impl<'de> de::Deserialize<'de> for RawEntry<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = RawEntry<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a model entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entry = RawEntry::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "id" => entry.id = text(&mut map)?,
                "model" => entry.model = text(&mut map)?,
                "name" => entry.name = text(&mut map)?,
                "display_name" => entry.display_name = text(&mut map)?,
                "owned_by" => entry.owned_by = text(&mut map)?,
                "organization" => entry.organization = text(&mut map)?,
                "context_length" => entry.context_length = number(&mut map)?,
                "context_window" => entry.context_window = number(&mut map)?,
                "max_model_len" => entry.max_model_len = number(&mut map)?,
                "max_context_length" => entry.max_context_length = number(&mut map)?,
                "max_completion_tokens" => entry.max_completion_tokens = number(&mut map)?,
                "max_output_tokens" => entry.max_output_tokens = number(&mut map)?,
                "supported_parameters" => entry.supported_parameters = texts(&mut map)?,
                "capabilities" => entry.capabilities = texts(&mut map)?,
                "architecture" => entry.input_modalities = map.next_value::<Architecture<'de>>()?.0,
                "top_provider" => entry.top_provider = map.next_value::<TopProviderValue>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(entry)
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(RawEntry {
            bare: Some(Cow::Borrowed(value)),
            ..RawEntry::default()
        })
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(RawEntry {
            bare: Some(Cow::Owned(value.to_owned())),
            ..RawEntry::default()
        })
    }
    // Anything else in the list is not a model; skip it.
    skip_other_shapes!(RawEntry::default(); seq, unit, bool, i64, u64, f64);
}

fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Cow<'de, str>>, A::Error> {
    Ok(map.next_value::<Lenient<LenientText<'de>>>()?.0)
}

fn number<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<u64>, A::Error> {
    Ok(map.next_value::<Lenient<LenientNumber>>()?.0)
}

fn texts<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<Vec<Cow<'de, str>>>, A::Error> {
    Ok(map.next_value::<LenientTexts<'de>>()?.0)
}

/// A value that is used when it has the expected type and skipped (`None`)
/// otherwise, so one odd field never fails the whole list.
struct Lenient<T: LenientKind>(Option<T::Output>);

trait LenientKind {
    type Output;
}

struct LenientText<'de>(std::marker::PhantomData<&'de ()>);
impl<'de> LenientKind for LenientText<'de> {
    type Output = Cow<'de, str>;
}

struct LenientNumber;
impl LenientKind for LenientNumber {
    type Output = u64;
}

impl<'de> de::Deserialize<'de> for Lenient<LenientText<'de>> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor).map(Lenient)
    }
}

impl<'de> de::Deserialize<'de> for Lenient<LenientNumber> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberVisitor).map(Lenient)
    }
}

/// Accepts anything; keeps strings.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(value)))
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(value.to_owned())))
    }
    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(value)))
    }
    skip_other_shapes!(None; unit, bool, i64, u64, f64, seq, map);
}

/// Accepts anything; keeps non-negative integers (also integral floats and
/// digit strings, which some servers send for token counts).
struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Option<u64>;
    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a number")
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Some(value))
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(value).ok())
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        let integral = value.fract() == 0.0 && value >= 0.0 && value <= u64::MAX as f64;
        // The range check above makes the cast exact for the values we keep.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(integral.then_some(value as u64))
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(value.parse().ok())
    }
    skip_other_shapes!(None; unit, bool, seq, map);
}

/// An array of strings (non-strings inside are dropped); `None` when the
/// value is not an array.
struct LenientTexts<'de>(Option<Vec<Cow<'de, str>>>);

impl<'de> de::Deserialize<'de> for LenientTexts<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextsVisitor;
        impl<'de> Visitor<'de> for TextsVisitor {
            type Value = LenientTexts<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut sequence: A,
            ) -> Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(Lenient(value)) =
                    sequence.next_element::<Lenient<LenientText<'de>>>()?
                {
                    values.extend(value);
                }
                Ok(LenientTexts(Some(values)))
            }
            skip_other_shapes!(LenientTexts(None); map, str, unit, bool, i64, u64, f64);
        }
        deserializer.deserialize_any(TextsVisitor)
    }
}

/// OpenRouter's `architecture`; only `input_modalities` is kept.
struct Architecture<'de>(Option<Vec<Cow<'de, str>>>);

impl<'de> de::Deserialize<'de> for Architecture<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArchitectureVisitor;
        impl<'de> Visitor<'de> for ArchitectureVisitor {
            type Value = Architecture<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an architecture object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut modalities = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "input_modalities" {
                        modalities = texts(&mut map)?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Architecture(modalities))
            }
            skip_other_shapes!(Architecture(None); seq, str, unit, bool, i64, u64, f64);
        }
        deserializer.deserialize_any(ArchitectureVisitor)
    }
}

/// OpenRouter's `top_provider`.
struct TopProviderValue(TopProvider);

impl<'de> de::Deserialize<'de> for TopProviderValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopProviderVisitor;
        impl<'de> Visitor<'de> for TopProviderVisitor {
            type Value = TopProviderValue;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a top_provider object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut top = TopProvider::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "context_length" => top.context_length = number(&mut map)?,
                        "max_completion_tokens" => top.max_completion_tokens = number(&mut map)?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(TopProviderValue(top))
            }
            skip_other_shapes!(TopProviderValue(TopProvider::default()); seq, str, unit, bool, i64, u64, f64);
        }
        deserializer.deserialize_any(TopProviderVisitor)
    }
}

/// Applies a refresh to the models a user chose: see
/// [`patchbay_core::catalog::merge_refresh`] (each keeps its place; one the
/// server still lists gets fresh metadata and loses `missing_upstream`; one
/// it no longer lists is marked `missing_upstream`; new ones are not added).
/// The rule lives in core so the store can apply it when it records a
/// catalog.
pub fn merge_refresh(current: &[ModelEntry], discovered: &[DiscoveredModel]) -> Vec<ModelEntry> {
    let listed: Vec<ModelEntry> = discovered.iter().map(DiscoveredModel::to_entry).collect();
    patchbay_core::catalog::merge_refresh(current, &listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(models: &[DiscoveredModel]) -> Vec<&str> {
        models.iter().map(|model| model.id.as_str()).collect()
    }

    #[test]
    fn odd_entries_are_skipped_not_fatal() {
        let body = br#"{"data":[{"id":"a"},{"id":7},{"id":""},{"id":"  "},null,[1],{"id":"b","context_length":"oops"},{"id":"a"}]}"#;
        let models = parse_models(body).unwrap_or_default();
        assert_eq!(ids(&models), ["a", "b"]);
        assert_eq!(models[1].metadata.context_window, None);
    }

    #[test]
    fn an_error_next_to_a_list_is_an_error() {
        let body = br#"{"data":[{"id":"a"}],"error":{"message":"quota exceeded"}}"#;
        let error = parse_models(body).err();
        assert_eq!(
            error.as_ref().and_then(DiscoveryError::provider_text),
            Some("quota exceeded")
        );
        assert_eq!(error.map(|error| error.kind()), Some(Kind::ErrorEnvelope));
    }

    #[test]
    fn null_error_next_to_a_list_is_not_an_error() {
        let models = parse_models(br#"{"error":null,"data":[{"id":"a"}]}"#).unwrap_or_default();
        assert_eq!(ids(&models), ["a"]);
    }

    #[test]
    fn scalars_and_objects_without_a_list_are_the_wrong_shape() {
        for body in [
            &b"42"[..],
            b"\"models\"",
            br#"{"object":"list"}"#,
            br#"{"data":{"id":"a"}}"#,
        ] {
            assert!(
                matches!(parse_models(body), Err(DiscoveryError::WrongShape { .. })),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn trailing_garbage_is_not_json() {
        assert!(matches!(
            parse_models(br#"{"data":[]} x"#),
            Err(DiscoveryError::NotJson { .. })
        ));
    }

    #[test]
    fn merge_marks_missing_and_refreshes_metadata() {
        let current = vec![
            ModelEntry {
                id: "kept".into(),
                metadata: ModelMetadata {
                    context_window: Some(1),
                    ..ModelMetadata::default()
                },
                missing_upstream: true,
                display_name: None,
                hidden: false,
                probed: None,
            },
            ModelEntry {
                id: "gone".into(),
                metadata: ModelMetadata {
                    context_window: Some(2),
                    ..ModelMetadata::default()
                },
                missing_upstream: false,
                display_name: None,
                hidden: false,
                probed: None,
            },
            ModelEntry {
                id: "bare".into(),
                metadata: ModelMetadata {
                    context_window: Some(3),
                    ..ModelMetadata::default()
                },
                missing_upstream: false,
                display_name: None,
                hidden: false,
                probed: None,
            },
        ];
        let discovered = vec![
            DiscoveredModel {
                id: "new".into(),
                metadata: ModelMetadata::default(),
            },
            DiscoveredModel {
                id: "kept".into(),
                metadata: ModelMetadata {
                    context_window: Some(100),
                    ..ModelMetadata::default()
                },
            },
            DiscoveredModel {
                id: "bare".into(),
                metadata: ModelMetadata::default(),
            },
        ];
        let merged = merge_refresh(&current, &discovered);
        assert_eq!(
            merged
                .iter()
                .map(|entry| entry.id.as_str())
                .collect::<Vec<_>>(),
            ["kept", "gone", "bare"]
        );
        assert_eq!(
            (
                merged[0].missing_upstream,
                merged[0].metadata.context_window
            ),
            (false, Some(100))
        );
        assert_eq!(
            (
                merged[1].missing_upstream,
                merged[1].metadata.context_window
            ),
            (true, Some(2))
        );
        assert_eq!(
            (
                merged[2].missing_upstream,
                merged[2].metadata.context_window
            ),
            (false, Some(3))
        );
    }
}
