//! Generated model catalogs for tests and benchmarks: an OpenRouter-sized
//! catalog (371 entries, about 430 KB, every field OpenRouter's documented
//! `/api/v1/models` entry has) and plain OpenAI-style lists of any length.
//! Deterministic, so sizes and results are stable.

use std::fmt::Write as _;

const VENDORS: [&str; 12] = [
    "openai",
    "anthropic",
    "google",
    "meta-llama",
    "mistralai",
    "qwen",
    "deepseek",
    "x-ai",
    "cohere",
    "nousresearch",
    "microsoft",
    "amazon",
];

/// An OpenRouter-style catalog with `count` models.
pub(crate) fn openrouter_catalog(count: usize) -> String {
    let mut out = String::with_capacity(count * 1200);
    out.push_str(r#"{"data":["#);
    for index in 0..count {
        if index > 0 {
            out.push(',');
        }
        let vendor = VENDORS[index % VENDORS.len()];
        let context = 8192 * (1 + index % 64);
        let tools = index % 3 != 0;
        let modalities = if index % 4 == 0 {
            r#"["text","image"]"#
        } else {
            r#"["text"]"#
        };
        let parameters = if tools {
            r#"["frequency_penalty","include_reasoning","max_tokens","presence_penalty","reasoning","response_format","seed","stop","structured_outputs","temperature","tool_choice","tools","top_k","top_p"]"#
        } else {
            r#"["frequency_penalty","max_tokens","presence_penalty","seed","stop","temperature","top_k","top_p"]"#
        };
        let written = write!(
            out,
            r#"{{"id":"{vendor}/model-{index}-instruct","canonical_slug":"{vendor}/model-{index}-instruct-20250101","hugging_face_id":"{vendor}/Model-{index}-Instruct","name":"{vendor}: Model {index} Instruct","created":{created},"description":"Model {index} is a general-purpose instruction-tuned language model from {vendor}. It handles multi-turn conversation, code generation, structured output and long documents, and is tuned for helpfulness and instruction following. It supports a context window of {context} tokens.","context_length":{context},"architecture":{{"modality":"text->text","input_modalities":{modalities},"output_modalities":["text"],"tokenizer":"Other","instruct_type":null}},"pricing":{{"prompt":"0.0000{p}","completion":"0.0000{c}","request":"0","image":"0","web_search":"0","internal_reasoning":"0","input_cache_read":"0.00000{p}"}},"top_provider":{{"context_length":{context},"max_completion_tokens":{max_out},"is_moderated":{moderated}}},"per_request_limits":null,"supported_parameters":{parameters},"default_parameters":{{"temperature":null,"top_p":null,"frequency_penalty":null}}}}"#,
            created = 1_700_000_000 + index * 3600,
            p = 1 + index % 9,
            c = 2 + index % 7,
            max_out = 4096 * (1 + index % 8),
            moderated = index % 5 == 0,
        );
        if written.is_err() {
            break;
        }
    }
    out.push_str("]}");
    out
}

/// An OpenAI-style list with `count` models.
pub(crate) fn openai_catalog(count: usize) -> String {
    let mut out = String::with_capacity(count * 100);
    out.push_str(r#"{"object":"list","data":["#);
    for index in 0..count {
        if index > 0 {
            out.push(',');
        }
        let vendor = VENDORS[index % VENDORS.len()];
        if write!(out, r#"{{"id":"{vendor}/model-{index}:latest","object":"model","created":{},"owned_by":"{vendor}"}}"#, 1_700_000_000 + index).is_err() {
            break;
        }
    }
    out.push_str("]}");
    out
}
