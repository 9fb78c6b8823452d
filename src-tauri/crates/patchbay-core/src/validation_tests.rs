//! Tests of validation: every rule, by field, and the messages.

use super::*;

use time::OffsetDateTime;

use crate::id::ProviderId;
use crate::model::CustomHeader;

fn draft() -> ProviderDraft {
    ProviderDraft {
        label: "OpenRouter".to_owned(),
        preset: Some("openrouter".to_owned()),
        base_url: "https://openrouter.ai/api/v1".to_owned(),
        auth: Auth::ApiKey,
        key: KeyChange::Set {
            value: ApiKey::new("sk-or-v1-0123456789abcdef9f3a"),
        },
        models: vec!["google/gemini-2.5-flash".to_owned()],
        enabled: true,
        network: NetworkAllowance::Remote,
        headers: Vec::new(),
        timeout_secs: None,
        proxy: None,
        proxy_username: None,
        proxy_password: KeyChange::Keep,
        ca_certificate: None,
        api: Default::default(),
        api_version: None,
        move_key: false,
    }
}

fn provider(id: &str, label: &str) -> Provider {
    Provider {
        id: ProviderId::parse(id).expect("test id"),
        label: label.to_owned(),
        preset: None,
        base_url: Url::parse("https://api.example.com/v1").expect("test url"),
        auth: Auth::ApiKey,
        key_hint: Some("sk-…9f3a".to_owned()),
        key_origin: None,
        models: Vec::new(),
        enabled: true,
        network: NetworkAllowance::Remote,
        headers: Vec::new(),
        timeout_secs: None,
        trusted_cert_sha256: None,
        proxy: None,
        proxy_username: None,
        ca_certificate: None,
        api: Default::default(),
        api_version: None,
        last_test: None,
        untested_since: None,
        catalog: None,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
    }
}

fn fields(result: Result<ValidatedDraft, Error>) -> Vec<(String, String)> {
    match result {
        Ok(valid) => panic!("expected errors, got {valid:?}"),
        Err(error) => {
            assert_eq!(error.kind(), crate::Kind::InvalidInput);
            error
                .fields()
                .iter()
                .map(|field| (field.field.clone(), field.message.clone()))
                .collect()
        }
    }
}

fn only_field(result: Result<ValidatedDraft, Error>) -> (String, String) {
    let all = fields(result);
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().expect("one field")
}

#[test]
fn a_good_draft_validates_and_normalises() {
    let mut input = draft();
    input.label = "  OpenRouter  ".to_owned();
    input.preset = Some("OpenRouter".to_owned());
    input.base_url = " https://openrouter.ai/api/v1/chat/completions/ ".to_owned();
    input.models = vec![
        "google/gemini-2.5-flash".to_owned(),
        "hf.co/org/model-GGUF:Q6_K".to_owned(),
    ];
    input.timeout_secs = Some(600);
    let valid = validate(&input, &[], None).expect("valid");
    assert_eq!(valid.label, "OpenRouter");
    assert_eq!(valid.preset.as_deref(), Some("openrouter"));
    assert_eq!(
        base_url::display(&valid.base_url),
        "https://openrouter.ai/api/v1"
    );
    assert_eq!(
        valid.models,
        vec!["google/gemini-2.5-flash", "hf.co/org/model-GGUF:Q6_K"]
    );
    assert_eq!(
        valid.key,
        ValidKeyChange::Set(ApiKey::new("sk-or-v1-0123456789abcdef9f3a"))
    );
    assert_eq!(valid.timeout_secs, Some(600));
    assert_eq!(
        valid.notices,
        vec![Notice::new(
            "base_url",
            "Removed /chat/completions: Patchbay adds the endpoint path itself."
        )]
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let input = ProviderDraft {
        label: " ".to_owned(),
        preset: Some("nope".to_owned()),
        base_url: "ftp://h".to_owned(),
        auth: Auth::ApiKey,
        key: KeyChange::Keep,
        models: vec!["a b".to_owned(), String::new()],
        enabled: true,
        network: NetworkAllowance::Remote,
        headers: vec![HeaderDraft {
            name: "Host".to_owned(),
            value: Some(ApiKey::new("x\r\ny")),
            secret: false,
        }],
        timeout_secs: Some(0),
        proxy: Some("socks5://proxy.corp:1080".to_owned()),
        proxy_username: None,
        proxy_password: KeyChange::Keep,
        ca_certificate: None,
        api: Default::default(),
        api_version: None,
        move_key: false,
    };
    let names: Vec<String> = fields(validate(&input, &[], None))
        .into_iter()
        .map(|(field, _)| field)
        .collect();
    assert_eq!(
        names,
        vec![
            "label",
            "preset",
            "base_url",
            "models[0]",
            "models[1]",
            "key",
            "headers[0].name",
            "headers[0].value",
            "timeout_secs",
            "proxy"
        ]
    );
}

#[test]
fn labels() {
    let others = vec![
        provider("openrouter", "OpenRouter"),
        provider("groq", "Groq"),
    ];
    let at_limit = "é".repeat(64);
    let over_limit = "é".repeat(65);
    let cases: &[(&str, Option<&str>)] = &[
        ("A", None),
        ("Home Ollama", None),
        ("日本語のプロバイダ", None),
        (at_limit.as_str(), None),
        ("", Some("Enter a name")),
        ("   ", Some("Enter a name")),
        (over_limit.as_str(), Some("65 characters")),
        ("Two\nlines", Some("control character")),
        ("openrouter", Some("\"OpenRouter\" (id openrouter)")),
        ("  GROQ ", Some("\"Groq\" (id groq)")),
    ];
    for (label, expected) in cases {
        let mut input = draft();
        input.label = (*label).to_owned();
        let result = validate(&input, &others, None);
        match expected {
            None => assert!(result.is_ok(), "{label:?}: {:?}", result.err()),
            Some(needle) => {
                let (field, message) = only_field(result);
                assert_eq!(field, "label");
                assert!(message.contains(needle), "{label:?}: {message}");
            }
        }
    }
}

#[test]
fn editing_keeps_its_own_label_and_key() {
    let existing = provider("openrouter", "OpenRouter");
    let others = vec![existing.clone(), provider("groq", "Groq")];
    let mut input = draft();
    input.label = "openrouter".to_owned();
    input.key = KeyChange::Keep;
    let valid = validate(&input, &others, Some(&existing)).expect("renaming by case is fine");
    assert_eq!(valid.label, "openrouter");
    assert_eq!(valid.key, ValidKeyChange::Keep);
    input.label = "Groq".to_owned();
    assert!(only_field(validate(&input, &others, Some(&existing)))
        .1
        .contains("id groq"));
}

#[test]
fn presets() {
    for (preset, expected) in [
        (None, Ok(None)),
        (Some(""), Ok(None)),
        (Some("  "), Ok(None)),
        (Some("ollama"), Ok(Some("ollama"))),
        (Some("LM-Studio"), Ok(Some("lm-studio"))),
        (Some("custom"), Ok(Some("custom"))),
        (Some("chatgpt"), Err("openai, anthropic")),
    ] {
        let mut input = draft();
        input.preset = preset.map(str::to_owned);
        match expected {
            Ok(id) => assert_eq!(
                validate(&input, &[], None)
                    .expect("valid")
                    .preset
                    .as_deref(),
                id
            ),
            Err(needle) => {
                let (field, message) = only_field(validate(&input, &[], None));
                assert_eq!(field, "preset");
                assert!(message.contains(needle), "{message}");
            }
        }
    }
}

#[test]
fn base_url_problems_and_notices_use_the_base_url_field() {
    let mut input = draft();
    input.base_url = "http://192.168.0.123:8000/v1".to_owned();
    let (field, message) = only_field(validate(&input, &[], None));
    assert_eq!(field, "base_url");
    assert!(message.contains("Local or Private"), "{message}");
    input.network = NetworkAllowance::Private;
    let valid = validate(&input, &[], None).expect("allowed on the LAN");
    assert_eq!(valid.base_url.as_str(), "http://192.168.0.123:8000/v1");
    assert_eq!(valid.network, NetworkAllowance::Private);
}

#[test]
fn model_ids() {
    let at_limit = "m".repeat(256);
    let over_limit = "m".repeat(257);
    let cases: &[(&str, Option<&str>)] = &[
        ("gpt-4o-mini", None),
        ("google/gemini-2.5-flash", None),
        ("hf.co/org/model-GGUF:Q6_K", None),
        ("accounts/fireworks/models/llama-v3p1-8b-instruct", None),
        ("qwen2.5:72b-instruct-q4_K_M", None),
        ("模型", None),
        (at_limit.as_str(), None),
        ("", Some("Enter a model ID")),
        ("   ", Some("Enter a model ID")),
        (over_limit.as_str(), Some("257")),
        ("gpt 4o", Some("spaces")),
        ("gpt-4o\n", Some("spaces")),
        ("\tgpt-4o", Some("spaces")),
        ("gpt\u{a0}4o", Some("spaces")),
        ("gpt\u{0}4o", Some("control")),
        ("gpt\u{7f}4o", Some("control")),
    ];
    for (id, expected) in cases {
        assert_eq!(
            validate_model_id(id).err().is_none(),
            expected.is_none(),
            "{id:?}"
        );
        let mut input = draft();
        input.models = vec!["first".to_owned(), (*id).to_owned()];
        let result = validate(&input, &[], None);
        match expected {
            None => assert_eq!(
                result.expect("valid").models[1].as_bytes(),
                id.as_bytes(),
                "kept byte-for-byte"
            ),
            Some(needle) => {
                let (field, message) = only_field(result);
                assert_eq!(field, "models[1]");
                assert!(message.contains(needle), "{id:?}: {message}");
            }
        }
    }
}

#[test]
fn models_need_at_least_one_and_no_duplicates() {
    let mut input = draft();
    input.models = Vec::new();
    let (field, message) = only_field(validate(&input, &[], None));
    assert_eq!(field, "models");
    assert!(message.contains("at least one"));

    input.models = vec![
        "a".to_owned(),
        "b".to_owned(),
        "a".to_owned(),
        "A".to_owned(),
    ];
    let (field, message) = only_field(validate(&input, &[], None));
    assert_eq!(field, "models[2]");
    assert!(message.contains("models[0]"), "{message}");

    input.models = (0..=MAX_MODELS).map(|index| format!("m{index}")).collect();
    assert_eq!(only_field(validate(&input, &[], None)).0, "models");
}

#[test]
fn api_keys() {
    let long = "k".repeat(MAX_KEY_BYTES + 1);
    let at_limit = "k".repeat(MAX_KEY_BYTES);
    /// (pasted, Ok((stored key, trimmed?)) or Err(words in the message))
    type Case<'a> = (&'a str, Result<(&'a str, bool), &'a str>);
    let cases: &[Case<'_>] = &[
        ("sk-or-v1-abc", Ok(("sk-or-v1-abc", false))),
        ("sk-proj-abc\n", Ok(("sk-proj-abc", true))),
        ("  gsk_abc\r\n", Ok(("gsk_abc", true))),
        ("\tsk-abc ", Ok(("sk-abc", true))),
        (at_limit.as_str(), Ok((at_limit.as_str(), false))),
        ("", Err("empty")),
        (" \n", Err("empty")),
        (long.as_str(), Err("4 KiB")),
        ("Bearer sk-abc", Err("Bearer")),
        ("bearer\tsk-abc", Err("Bearer")),
        ("sk-abc def", Err("middle")),
        ("sk-abc\ndef", Err("middle")),
        ("sk-abc\u{0}def", Err("control")),
        ("sk-abc\u{1b}def", Err("control")),
        ("sk-“abc”", Err("ASCII")),
        ("sk-аbc", Err("ASCII")),
    ];
    for (raw, expected) in cases {
        match (validate_api_key(raw), expected) {
            (Ok((key, notice)), Ok((value, trimmed))) => {
                assert_eq!(key.expose(), *value, "{raw:?}");
                assert_eq!(notice.is_some(), *trimmed, "{raw:?}");
                if let Some(notice) = notice {
                    assert_eq!(notice.field, "key");
                }
            }
            (Err(problem), Err(needle)) => {
                assert_eq!(problem.field, KEY_FIELD);
                let message = problem.message;
                assert!(message.contains(needle), "{raw:?}: {message}");
                let secret_part = raw.trim().trim_start_matches("Bearer ");
                assert!(
                    secret_part.len() < 3 || !message.contains(secret_part),
                    "{raw:?} leaked"
                );
            }
            (got, _) => panic!("{raw:?}: unexpected {:?}", got.map(|(_, notice)| notice)),
        }
    }
}

#[test]
fn key_rules_by_auth_and_stored_state() {
    let stored = provider("openrouter", "OpenRouter");
    let mut no_key_stored = stored.clone();
    no_key_stored.key_hint = None;
    let set = KeyChange::Set {
        value: ApiKey::new("sk-new-key-1234"),
    };

    type Case<'a> = (
        Auth,
        KeyChange,
        Option<&'a Provider>,
        Result<ValidKeyChange, &'a str>,
        usize,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            Auth::ApiKey,
            set.clone(),
            None,
            Ok(ValidKeyChange::Set(ApiKey::new("sk-new-key-1234"))),
            0,
        ),
        (
            Auth::ApiKey,
            set.clone(),
            Some(&stored),
            Ok(ValidKeyChange::Set(ApiKey::new("sk-new-key-1234"))),
            0,
        ),
        (
            Auth::ApiKey,
            KeyChange::Keep,
            None,
            Err("Enter an API key"),
            0,
        ),
        (
            Auth::ApiKey,
            KeyChange::Keep,
            Some(&no_key_stored),
            Err("Enter an API key"),
            0,
        ),
        (
            Auth::ApiKey,
            KeyChange::Keep,
            Some(&stored),
            Ok(ValidKeyChange::Keep),
            0,
        ),
        (
            Auth::ApiKey,
            KeyChange::Remove,
            Some(&stored),
            Err("No authentication"),
            0,
        ),
        (
            Auth::None,
            set.clone(),
            None,
            Err("choose API key auth or clear the key"),
            0,
        ),
        (
            Auth::None,
            set.clone(),
            Some(&stored),
            Err("choose API key auth or clear the key"),
            0,
        ),
        (
            Auth::None,
            KeyChange::Keep,
            None,
            Ok(ValidKeyChange::Keep),
            0,
        ),
        (
            Auth::None,
            KeyChange::Keep,
            Some(&no_key_stored),
            Ok(ValidKeyChange::Keep),
            0,
        ),
        (
            Auth::None,
            KeyChange::Keep,
            Some(&stored),
            Ok(ValidKeyChange::Remove),
            1,
        ),
        (
            Auth::None,
            KeyChange::Remove,
            Some(&stored),
            Ok(ValidKeyChange::Remove),
            0,
        ),
        (
            Auth::None,
            KeyChange::Remove,
            None,
            Ok(ValidKeyChange::Remove),
            0,
        ),
    ];
    for (index, (auth, key, editing, expected, notice_count)) in cases.into_iter().enumerate() {
        let mut input = draft();
        input.auth = auth;
        input.key = key;
        let result = validate(&input, &[], editing);
        match expected {
            Ok(change) => {
                let valid = result.unwrap_or_else(|error| panic!("case {index}: {error}"));
                assert_eq!(valid.key, change, "case {index}");
                let key_notices = valid
                    .notices
                    .iter()
                    .filter(|notice| notice.field == "key")
                    .count();
                assert_eq!(key_notices, notice_count, "case {index}");
            }
            Err(needle) => {
                let (field, message) = only_field(result);
                assert_eq!(field, "key", "case {index}");
                assert!(message.contains(needle), "case {index}: {message}");
            }
        }
    }
}

#[test]
fn switching_to_no_auth_names_the_removed_key_by_hint_only() {
    let stored = provider("openrouter", "OpenRouter");
    let mut input = draft();
    input.auth = Auth::None;
    input.key = KeyChange::Keep;
    let valid = validate(&input, &[], Some(&stored)).expect("valid");
    assert_eq!(valid.key, ValidKeyChange::Remove);
    assert!(valid
        .notices
        .iter()
        .any(|notice| notice.field == "key" && notice.message.contains("sk-…9f3a")));
}

#[test]
fn a_pasted_key_with_a_newline_is_trimmed_with_a_notice() {
    let mut input = draft();
    input.key = KeyChange::Set {
        value: ApiKey::new("sk-or-v1-abcdef\n"),
    };
    let valid = validate(&input, &[], None).expect("valid");
    assert_eq!(
        valid.key,
        ValidKeyChange::Set(ApiKey::new("sk-or-v1-abcdef"))
    );
    assert_eq!(
        valid.notices,
        vec![Notice::new(
            "key",
            "Removed spaces or line breaks around the pasted key."
        )]
    );
}

fn header(name: &str, value: Option<&str>, secret: bool) -> HeaderDraft {
    HeaderDraft {
        name: name.to_owned(),
        value: value.map(ApiKey::new),
        secret,
    }
}

#[test]
fn header_names() {
    let too_long = "x".repeat(257);
    let cases: &[(&str, Option<&str>)] = &[
        ("HTTP-Referer", None),
        ("X-Title", None),
        ("CF-Access-Client-Id", None),
        ("api-key", None),
        ("x_custom.header~1!#$%&'*+^`|", None),
        (" X-Padded ", None),
        ("", Some("Enter a header name")),
        ("X Title", Some("a space")),
        ("Authorization: Bearer sk-secret", Some("':'")),
        ("X-Ünicode", Some("'Ü'")),
        ("X-(paren)", Some("'('")),
        ("X-\u{1}", Some("control")),
        ("Authorization", Some("key field")),
        ("authorization", Some("key field")),
        ("content-type", Some("Content-Type itself")),
        ("CONTENT-LENGTH", Some("Content-Length itself")),
        ("Host", Some("Host itself")),
        ("Accept", Some("Accept itself")),
        ("accept-encoding", Some("Accept-Encoding itself")),
        ("Connection", Some("Connection itself")),
        ("Transfer-Encoding", Some("Transfer-Encoding itself")),
        ("User-Agent", Some("User-Agent itself")),
        ("Cookie", Some("Cookie itself")),
        ("Upgrade", Some("Upgrade itself")),
        ("te", Some("TE itself")),
        ("Trailer", Some("Trailer itself")),
        ("Keep-Alive", Some("Keep-Alive itself")),
        ("Proxy-Authorization", Some("Proxy-*")),
        ("proxy-connection", Some("Proxy-*")),
        (too_long.as_str(), Some("256")),
    ];
    for (name, expected) in cases {
        let mut input = draft();
        input.headers = vec![header(name, Some("value"), false)];
        let result = validate(&input, &[], None);
        match expected {
            None => assert_eq!(
                result.expect("valid").transport.headers[0].name,
                name.trim(),
                "{name:?}"
            ),
            Some(needle) => {
                let (field, message) = only_field(result);
                assert_eq!(field, "headers[0].name", "{name:?}");
                assert!(message.contains(needle), "{name:?}: {message}");
                assert!(!message.contains("sk-secret"), "{name:?} leaked: {message}");
            }
        }
    }
}

#[test]
fn duplicate_header_names_are_refused_ignoring_case() {
    let mut input = draft();
    input.headers = vec![
        header("X-Title", Some("a"), false),
        header("x-title", Some("b"), false),
    ];
    let (field, message) = only_field(validate(&input, &[], None));
    assert_eq!(field, "headers[1].name");
    assert!(message.contains("Header 1 "), "{message}");

    input.headers = (0..=MAX_HEADERS)
        .map(|index| header(&format!("X-H{index}"), Some("v"), false))
        .collect();
    assert_eq!(only_field(validate(&input, &[], None)).0, "headers");
}

#[test]
fn header_values() {
    let long = "v".repeat(MAX_HEADER_VALUE_BYTES + 1);
    let at_limit = "v".repeat(MAX_HEADER_VALUE_BYTES);
    /// (value, secret?, Ok(stored value) or Err(words in the message), notices)
    type Case<'a> = (
        Option<&'a str>,
        bool,
        Result<Option<&'a str>, &'a str>,
        usize,
    );
    let cases: &[Case<'_>] = &[
        (
            Some("https://example.com"),
            false,
            Ok(Some("https://example.com")),
            0,
        ),
        (
            Some("  padded value \n"),
            false,
            Ok(Some("padded value")),
            1,
        ),
        (
            Some("inner  spaces ok"),
            false,
            Ok(Some("inner  spaces ok")),
            0,
        ),
        (
            Some(at_limit.as_str()),
            true,
            Ok(Some(at_limit.as_str())),
            0,
        ),
        (Some(long.as_str()), true, Err("8 KiB"), 0),
        (Some("a\r\nInjected: yes"), false, Err("single line"), 0),
        (Some("a\nb"), true, Err("single line"), 0),
        (Some("a\u{0}b"), true, Err("single line"), 0),
        (Some("a\tb"), false, Err("single line"), 0),
        (Some("café"), false, Err("ASCII"), 0),
        (None, false, Err("Enter a value"), 0),
        (Some(""), false, Err("Enter a value"), 0),
        (Some("   "), false, Err("Enter a value"), 0),
        (None, true, Err("secret header"), 0),
        (Some(""), true, Err("secret header"), 0),
    ];
    for (value, secret, expected, notice_count) in cases {
        let mut input = draft();
        input.headers = vec![header("X-Custom", *value, *secret)];
        let result = validate(&input, &[], None);
        match expected {
            Ok(stored) => {
                let valid = result.unwrap_or_else(|error| panic!("{value:?}: {error}"));
                assert_eq!(
                    valid.transport.headers[0]
                        .value
                        .as_ref()
                        .map(ApiKey::expose),
                    *stored,
                    "{value:?}"
                );
                assert_eq!(valid.transport.headers[0].secret, *secret);
                assert_eq!(valid.notices.len(), *notice_count, "{value:?}");
                if *notice_count > 0 {
                    assert_eq!(valid.notices[0].field, "headers[0].value");
                }
            }
            Err(needle) => {
                let (field, message) = only_field(result);
                assert_eq!(field, "headers[0].value", "{value:?}");
                assert!(message.contains(needle), "{value:?}: {message}");
                assert!(
                    !message.contains("Injected") && !message.contains("café"),
                    "value leaked: {message}"
                );
            }
        }
    }
}

#[test]
fn a_stored_secret_header_keeps_its_value_when_none_is_given() {
    let mut stored = provider("gateway", "Gateway");
    stored.headers = vec![
        CustomHeader {
            name: "CF-Access-Client-Secret".to_owned(),
            value: None,
            secret: true,
            hint: Some("…ab12".to_owned()),
        },
        CustomHeader {
            name: "X-Plain".to_owned(),
            value: Some("v".to_owned()),
            secret: false,
            hint: None,
        },
    ];
    let mut input = draft();
    input.key = KeyChange::Keep;
    input.headers = vec![
        header("cf-access-client-secret", None, true),
        header("CF-Access-Client-Id", Some("id"), false),
    ];
    let valid = validate(&input, &[], Some(&stored)).expect("kept secret");
    assert_eq!(
        valid.transport.headers[0],
        ValidHeader {
            name: "cf-access-client-secret".to_owned(),
            value: None,
            secret: true
        }
    );
    assert_eq!(
        valid.transport.headers[1]
            .value
            .as_ref()
            .map(ApiKey::expose),
        Some("id")
    );

    // A stored non-secret header never supplies a value, and neither
    // does a secret one on a different provider or a new provider.
    input.headers = vec![header("X-Plain", None, true)];
    assert_eq!(
        only_field(validate(&input, &[], Some(&stored))).0,
        "headers[0].value"
    );
    input.headers = vec![header("CF-Access-Client-Secret", None, true)];
    input.key = draft().key;
    assert_eq!(
        only_field(validate(&input, &[], None)).0,
        "headers[0].value"
    );
    input.headers = vec![header("CF-Access-Client-Secret", None, false)];
    assert_eq!(
        only_field(validate(&input, &[], Some(&stored))).0,
        "headers[0].value"
    );
}

#[test]
fn proxies() {
    for (raw, expected) in [
        ("", Ok(None)),
        ("   ", Ok(None)),
        ("http://proxy.corp:3128", Ok(Some("http://proxy.corp:3128"))),
        (
            "  http://proxy.corp:3128/  ",
            Ok(Some("http://proxy.corp:3128")),
        ),
        ("https://PROXY.corp", Ok(Some("https://proxy.corp"))),
        ("http://127.0.0.1:8080", Ok(Some("http://127.0.0.1:8080"))),
        ("http://[::1]:8080", Ok(Some("http://[::1]:8080"))),
        ("http://proxy.corp:80", Ok(Some("http://proxy.corp"))),
        ("socks5://proxy.corp:1080", Err("http:// and https://")),
        ("proxy.corp:3128", Err("Start the URL with https://")),
        ("proxy.corp", Err("Start the URL with https://")),
        (
            "http://user:hunter2@proxy.corp:3128",
            Err("enter the user name and password in their own fields"),
        ),
        (
            "http://user@proxy.corp:3128",
            Err("enter the user name and password in their own fields"),
        ),
        ("http://proxy.corp:3128/path", Err("remove the path")),
        ("http://proxy.corp:3128/?q=1", Err("remove the path")),
        ("http://proxy.corp:99999", Err("port must be a number")),
        ("http://proxy\n.corp", Err("control character")),
        ("http://proxy.corp\u{7}:3128", Err("control character")),
    ] {
        let raw = raw.to_owned();
        let outcome = validate_proxy(&raw)
            .map(|proxy| proxy.as_ref().map(display_proxy))
            .map_err(|problem| {
                assert_eq!(problem.field, PROXY_FIELD);
                problem.message
            });
        match expected {
            Ok(shown) => assert_eq!(outcome, Ok(shown.map(str::to_owned)), "{raw:?}"),
            Err(fragment) => {
                let message = outcome.expect_err(&raw);
                assert!(message.contains(fragment), "{raw:?}: {message}");
                assert!(!message.contains("hunter2"), "{message}");
            }
        }
    }
}

#[test]
fn a_bad_proxy_is_a_field_error_and_a_good_one_is_kept() {
    let mut input = draft();
    input.proxy = Some("http://user:pw@proxy.corp:3128".to_owned());
    let (field, message) = only_field(validate(&input, &[], None));
    assert_eq!(field, "proxy");
    assert!(!message.contains("pw@"), "{message}");
    input.proxy = Some("http://proxy.corp:3128".to_owned());
    let valid = validate(&input, &[], None).expect("valid");
    assert_eq!(
        valid.transport.proxy.as_ref().map(display_proxy).as_deref(),
        Some("http://proxy.corp:3128")
    );
    let debug = format!(
        "{:?}",
        ProviderDraft {
            proxy: Some("http://a:secretpw@p:1".to_owned()),
            ..draft()
        }
    );
    assert!(!debug.contains("secretpw"), "{debug}");
    let parsed: ProviderDraft = serde_json::from_value(serde_json::json!({
        "label": "x", "base_url": "https://api.example.com/v1", "auth": "none", "models": ["m"],
        "proxy": "http://proxy.corp:3128"
    }))
    .expect("draft with proxy");
    assert_eq!(parsed.proxy.as_deref(), Some("http://proxy.corp:3128"));
}

#[test]
fn timeouts() {
    for (timeout, ok) in [
        (None, true),
        (Some(1), true),
        (Some(600), true),
        (Some(0), false),
        (Some(601), false),
        (Some(u32::MAX), false),
    ] {
        let mut input = draft();
        input.timeout_secs = timeout;
        let result = validate(&input, &[], None);
        if ok {
            assert_eq!(result.expect("valid").timeout_secs, timeout);
        } else {
            let (field, message) = only_field(result);
            assert_eq!(field, "timeout_secs");
            assert!(message.contains("1 to 600"), "{message}");
        }
    }
}

#[test]
fn drafts_deserialise_from_the_documented_json() {
    let json = serde_json::json!({
        "label": "Home Ollama",
        "base_url": "http://localhost:11434/v1",
        "auth": "none",
        "models": ["llama3.2"],
        "network": "local"
    });
    let parsed: ProviderDraft = serde_json::from_value(json).expect("minimal draft");
    assert!(parsed.enabled, "enabled defaults to true");
    assert!(matches!(parsed.key, KeyChange::Keep));
    assert!(parsed.headers.is_empty() && parsed.preset.is_none() && parsed.timeout_secs.is_none());
    assert!(validate(&parsed, &[], None).is_ok());

    let json = serde_json::json!({
        "label": "Gateway",
        "preset": "custom",
        "base_url": "https://gw.example.com/v1",
        "auth": "api_key",
        "key": {"action": "set", "value": "sk-canary-0000"},
        "models": ["m"],
        "enabled": false,
        "headers": [{"name": "X-Api-Key", "value": "hdr-canary-1111", "secret": true}, {"name": "X-Keep", "secret": true}],
        "timeout_secs": 30
    });
    let parsed: ProviderDraft = serde_json::from_value(json).expect("full draft");
    assert!(!parsed.enabled);
    assert!(matches!(&parsed.key, KeyChange::Set { value } if value.expose() == "sk-canary-0000"));
    assert!(parsed.headers[1].value.is_none());
    let printed = format!("{parsed:?}");
    assert!(
        !printed.contains("sk-canary") && !printed.contains("hdr-canary"),
        "{printed}"
    );

    let remove: KeyChange =
        serde_json::from_value(serde_json::json!({"action": "remove"})).expect("remove");
    assert!(matches!(remove, KeyChange::Remove));
    assert!(serde_json::from_value::<KeyChange>(serde_json::json!({"action": "steal"})).is_err());
}

#[test]
fn notices_serialise_as_field_and_message() {
    let notice = Notice::new(
        "base_url",
        "Removed /models: Patchbay adds the endpoint path itself.",
    );
    assert_eq!(
        serde_json::to_value(&notice).expect("serialises"),
        serde_json::json!({
            "field": "base_url",
            "message": "Removed /models: Patchbay adds the endpoint path itself."
        })
    );
}

#[test]
fn debug_output_redacts_keys_header_values_and_url_credentials() {
    let mut input = draft();
    input.key = KeyChange::Set {
        value: ApiKey::new("sk-canary-2222"),
    };
    input.base_url = "https://user:pw-canary-3333@h/v1".to_owned();
    input.headers = vec![header("X-Api-Key", Some("hdr-canary-4444"), true)];
    let printed = format!("{input:?}");
    for canary in ["sk-canary", "pw-canary", "hdr-canary"] {
        assert!(!printed.contains(canary), "{canary} in {printed}");
    }
    let mut valid_input = draft();
    valid_input.key = KeyChange::Set {
        value: ApiKey::new("sk-canary-5555"),
    };
    valid_input.headers = vec![header("X-Api-Key", Some("hdr-canary-6666"), true)];
    let printed = format!("{:?}", validate(&valid_input, &[], None).expect("valid"));
    assert!(
        !printed.contains("sk-canary") && !printed.contains("hdr-canary"),
        "{printed}"
    );
    let error = validate(&input, &[], None).expect_err("userinfo refused");
    let payload = serde_json::to_string(&error.to_payload()).expect("serialises");
    assert!(!payload.contains("canary"), "{payload}");
}

#[test]
fn a_base_url_the_egress_policy_refuses_is_a_base_url_error_beside_the_others() {
    let mut metadata = draft();
    metadata.base_url = "http://169.254.169.254/v1".to_owned();
    metadata.network = NetworkAllowance::Private;
    metadata.label = String::new();
    metadata.timeout_secs = Some(0);
    let error = validate(&metadata, &[], None).expect_err("refused");
    let fields: Vec<&str> = error
        .fields()
        .iter()
        .map(|field| field.field.as_str())
        .collect();
    assert_eq!(fields, ["label", "base_url", "timeout_secs"]);
    let base_url = &error.fields()[1].message;
    assert!(base_url.contains("metadata"), "{base_url}");
}

#[test]
fn a_lan_base_url_needs_the_private_allowance() {
    let mut lan = draft();
    lan.base_url = "https://10.0.0.5/v1".to_owned();
    let refused = validate(&lan, &[], None).expect_err("remote allowance");
    assert_eq!(refused.fields()[0].field, "base_url");
    lan.network = NetworkAllowance::Private;
    assert!(validate(&lan, &[], None).is_ok());
    let mut local = draft();
    local.base_url = "http://127.0.0.1:11434/v1".to_owned();
    local.network = NetworkAllowance::Local;
    assert!(validate(&local, &[], None).is_ok());
}

#[test]
fn validate_connection_checks_what_a_request_sends_and_not_the_label_or_models() {
    let mut unsaved = draft();
    unsaved.label = String::new();
    unsaved.models = Vec::new();
    unsaved.key = KeyChange::Keep;
    let checked = validate_connection(&unsaved, None).expect("a test needs no label, model or key");
    assert_eq!(checked.key, ValidKeyChange::Keep);
    unsaved.headers.push(HeaderDraft {
        name: "Bad Header".to_owned(),
        value: Some(ApiKey::new("x")),
        secret: false,
    });
    unsaved.base_url = "ftp://example.com/v1".to_owned();
    let error = validate_connection(&unsaved, None).expect_err("refused");
    let fields: Vec<&str> = error
        .fields()
        .iter()
        .map(|field| field.field.as_str())
        .collect();
    assert_eq!(fields, ["base_url", "headers[0].name"]);
    // The egress policy is the test's policy stage's to report, with DNS.
    unsaved.headers.clear();
    unsaved.base_url = "http://169.254.169.254/v1".to_owned();
    unsaved.network = NetworkAllowance::Private;
    assert!(validate_connection(&unsaved, None).is_ok());
}

fn with_proxy_auth(proxy: &str, username: Option<&str>, password: KeyChange) -> ProviderDraft {
    ProviderDraft {
        proxy: Some(proxy.to_owned()),
        proxy_username: username.map(str::to_owned),
        proxy_password: password,
        ..draft()
    }
}

fn set(value: &str) -> KeyChange {
    KeyChange::Set {
        value: ApiKey::new(value),
    }
}

fn problem_fields(result: Result<ValidatedDraft, Error>) -> Vec<(String, String)> {
    match result {
        Err(Error::Invalid(problems)) => problems
            .into_iter()
            .map(|problem| (problem.field, problem.message))
            .collect(),
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|valid| valid.label)
        ),
    }
}

#[test]
fn proxy_credentials_come_in_pairs_need_a_proxy_and_stay_with_its_origin() {
    let valid = validate(
        &with_proxy_auth("http://proxy.corp:3128", Some(" alice "), set("pass word")),
        &[],
        None,
    )
    .expect("user and password");
    let auth = valid.transport.proxy_auth.expect("credentials");
    assert_eq!(auth.username, "alice");
    assert!(
        matches!(auth.password, ValidKeyChange::Set(ref value) if value.expose() == "pass word")
    );

    for (draft, field, fragment) in [
        (
            with_proxy_auth("http://proxy.corp:3128", None, set("pw")),
            PROXY_USERNAME_FIELD,
            "user name too",
        ),
        (
            with_proxy_auth("http://proxy.corp:3128", Some("alice"), KeyChange::Keep),
            PROXY_PASSWORD_FIELD,
            "Enter the proxy's password",
        ),
        (
            with_proxy_auth("http://proxy.corp:3128", Some("al:ice"), set("pw")),
            PROXY_USERNAME_FIELD,
            "cannot contain `:`",
        ),
        (
            with_proxy_auth("http://proxy.corp:3128", Some("alice"), set("line\nbreak")),
            PROXY_PASSWORD_FIELD,
            "line break",
        ),
        (
            ProviderDraft {
                proxy: None,
                ..with_proxy_auth("http://proxy.corp:3128", Some("alice"), set("pw"))
            },
            PROXY_USERNAME_FIELD,
            "needs a proxy",
        ),
    ] {
        let problems = problem_fields(validate(&draft, &[], None));
        assert!(
            problems
                .iter()
                .any(|(name, message)| name == field && message.contains(fragment)),
            "{field}: {problems:?}"
        );
        assert!(
            problems
                .iter()
                .all(|(_, message)| !message.contains("line\nbreak")),
            "the password is never repeated"
        );
    }

    // A stored password is kept for the same proxy origin only.
    let mut saved = provider("work", "OpenRouter");
    saved.proxy = validate_proxy("http://proxy.corp:3128").expect("proxy");
    saved.proxy_username = Some("alice".to_owned());
    let kept = validate(
        &with_proxy_auth("http://proxy.corp:3128", Some("alice"), KeyChange::Keep),
        &[],
        Some(&saved),
    )
    .expect("kept for the same proxy");
    assert!(matches!(
        kept.transport.proxy_auth.map(|auth| auth.password),
        Some(ValidKeyChange::Keep)
    ));
    let moved = problem_fields(validate(
        &with_proxy_auth(
            "http://other-proxy.corp:3128",
            Some("alice"),
            KeyChange::Keep,
        ),
        &[],
        Some(&saved),
    ));
    assert!(
        moved
            .iter()
            .any(|(name, message)| name == PROXY_PASSWORD_FIELD
                && message.contains("was given for http://proxy.corp:3128")),
        "{moved:?}"
    );
}

#[test]
fn a_ca_certificate_is_checked_and_stored_as_pem() {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Corp Root CA");
    let ca = params
        .self_signed(&rcgen::KeyPair::generate().expect("key"))
        .expect("CA");
    let valid = validate(
        &ProviderDraft {
            ca_certificate: Some(format!("\n{}\n", ca.pem())),
            ..draft()
        },
        &[],
        None,
    )
    .expect("a CA certificate");
    let bundle = valid.transport.ca.expect("kept");
    assert_eq!(bundle.der, vec![ca.der().to_vec()]);

    let empty = validate(
        &ProviderDraft {
            ca_certificate: Some("  ".to_owned()),
            ..draft()
        },
        &[],
        None,
    )
    .expect("blank means none");
    assert!(empty.transport.ca.is_none());

    let problems = problem_fields(validate(
        &ProviderDraft {
            ca_certificate: Some("not a certificate".to_owned()),
            ..draft()
        },
        &[],
        None,
    ));
    assert!(
        problems
            .iter()
            .any(|(name, message)| name == CA_CERTIFICATE_FIELD
                && message
                    .starts_with("The CA certificate is not usable: this is not a certificate")),
        "{problems:?}"
    );
}
