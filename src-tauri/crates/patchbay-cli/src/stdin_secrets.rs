//! Secrets come in on stdin and nowhere else: an argument is visible to every
//! user on the machine through `ps` and lands in shell history.
//!
//! One value (the usual case, `printf %s "$KEY" | patchbay … --api-key-stdin`
//! or `echo "$KEY" | …`) is the whole of stdin with one trailing newline
//! removed, and the person is told when that happened. Several values are
//! one per line, in this order: the API key (`--api-key-stdin`), then each
//! `--secret-header` value in the order given, then the proxy password
//! (`--proxy-password-stdin`).

use std::io::{self, BufRead, IsTerminal, Read};

use patchbay_core::ApiKey;

use crate::error::CliError;
use crate::output::Output;

/// Nobody's key is a megabyte; a runaway pipe must not fill memory.
const STDIN_LIMIT: u64 = 1024 * 1024;

/// The secrets read from stdin.
#[derive(Debug, Default)]
pub(crate) struct StdinSecrets {
    pub(crate) api_key: Option<ApiKey>,
    /// `(name, value)` per `--secret-header`, in order.
    pub(crate) headers: Vec<(String, ApiKey)>,
    /// `--proxy-password-stdin`: the proxy's password.
    pub(crate) proxy_password: Option<ApiKey>,
}

/// Which secrets to read, in stdin order.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wanted<'a> {
    pub(crate) key: bool,
    pub(crate) headers: &'a [String],
    pub(crate) proxy_password: bool,
}

impl Wanted<'_> {
    fn count(&self) -> usize {
        usize::from(self.key) + self.headers.len() + usize::from(self.proxy_password)
    }

    fn field(&self) -> &'static str {
        if self.key {
            "api_key"
        } else if !self.headers.is_empty() {
            "headers"
        } else {
            "proxy_password"
        }
    }
}

/// Reads what the flags ask for; reads nothing when they ask for nothing.
pub(crate) fn read(wanted: Wanted<'_>, output: Output) -> Result<StdinSecrets, CliError> {
    let count = wanted.count();
    if count == 0 {
        return Ok(StdinSecrets::default());
    }
    let stdin = io::stdin();
    let input = if stdin.is_terminal() {
        // At a terminal there is no EOF to wait for: one line per value.
        output.notice(&format!(
            "Reading {} from the terminal: paste {} and press Enter (the text is shown as typed; pipe it in to avoid that).",
            describe(wanted),
            if count == 1 { "it" } else { "one per line" }
        ));
        let mut text = String::new();
        let mut lock = stdin.lock();
        for _ in 0..count {
            lock.read_line(&mut text)
                .map_err(|error| stdin_error(wanted, &error.to_string()))?;
        }
        text
    } else {
        let mut bytes = Vec::new();
        stdin
            .lock()
            .take(STDIN_LIMIT)
            .read_to_end(&mut bytes)
            .map_err(|error| stdin_error(wanted, &error.to_string()))?;
        String::from_utf8(bytes).map_err(|_| stdin_error(wanted, "stdin is not UTF-8 text"))?
    };
    let (secrets, trimmed) = parse(&input, wanted)?;
    if trimmed {
        output.notice("note: removed one trailing newline from the value read on stdin.");
    }
    Ok(secrets)
}

/// Splits stdin into the requested values. Returns whether a single value
/// had a trailing newline removed (to tell the person).
pub(crate) fn parse(input: &str, wanted: Wanted<'_>) -> Result<(StdinSecrets, bool), CliError> {
    let count = wanted.count();
    let without_newline = input
        .strip_suffix('\n')
        .map(|rest| rest.strip_suffix('\r').unwrap_or(rest));
    let trimmed = without_newline.is_some();
    let body = without_newline.unwrap_or(input);
    let values: Vec<&str> = if count == 1 {
        vec![body]
    } else {
        body.split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .collect()
    };
    if values.len() != count || values.iter().any(|value| value.is_empty()) {
        let message = if count == 1 {
            format!(
                "stdin gave no {}: pipe it in, e.g. `printf %s \"$KEY\" | patchbay …`",
                describe(wanted)
            )
        } else {
            format!(
                "stdin must hold {count} non-empty lines ({}), it held {}",
                describe(wanted),
                values.len()
            )
        };
        return Err(stdin_error(wanted, &message));
    }
    let mut values = values.into_iter();
    let api_key = if wanted.key {
        values.next().map(ApiKey::new)
    } else {
        None
    };
    let headers = wanted
        .headers
        .iter()
        .zip(values.by_ref())
        .map(|(name, value)| (name.clone(), ApiKey::new(value)))
        .collect();
    let proxy_password = if wanted.proxy_password {
        values.next().map(ApiKey::new)
    } else {
        None
    };
    Ok((
        StdinSecrets {
            api_key,
            headers,
            proxy_password,
        },
        trimmed && count == 1,
    ))
}

fn describe(wanted: Wanted<'_>) -> String {
    let mut parts = Vec::new();
    if wanted.key {
        parts.push("the API key".to_owned());
    }
    parts.extend(
        wanted
            .headers
            .iter()
            .map(|name| format!("the value of header {name}")),
    );
    if wanted.proxy_password {
        parts.push("the proxy password".to_owned());
    }
    parts.join(", then ")
}

fn stdin_error(wanted: Wanted<'_>, message: &str) -> CliError {
    CliError::SecretInput {
        field: wanted.field(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), CliError>;

    fn key() -> Wanted<'static> {
        Wanted {
            key: true,
            ..Wanted::default()
        }
    }

    #[test]
    fn one_value_loses_exactly_one_trailing_newline() -> TestResult {
        let (secrets, trimmed) = parse("sk-abc\n", key())?;
        assert!(trimmed);
        assert_eq!(secrets.api_key.as_ref().map(ApiKey::expose), Some("sk-abc"));

        let (secrets, trimmed) = parse("sk-abc", key())?;
        assert!(!trimmed);
        assert_eq!(secrets.api_key.as_ref().map(ApiKey::expose), Some("sk-abc"));

        // A second newline is not silently eaten: validation will reject it.
        let (secrets, _) = parse("sk-abc\n\n", key())?;
        assert_eq!(
            secrets.api_key.as_ref().map(ApiKey::expose),
            Some("sk-abc\n")
        );

        let (secrets, _) = parse("sk-abc\r\n", key())?;
        assert_eq!(secrets.api_key.as_ref().map(ApiKey::expose), Some("sk-abc"));
        Ok(())
    }

    #[test]
    fn empty_stdin_is_an_error_naming_the_key_field() {
        for input in ["", "\n"] {
            match parse(input, key()) {
                Err(CliError::SecretInput { field, .. }) => assert_eq!(field, "api_key"),
                other => panic!("expected a stdin error, got {other:?}"),
            }
        }
    }

    #[test]
    fn key_then_headers_one_per_line() -> TestResult {
        let names = vec!["api-key".to_owned(), "CF-Access-Client-Secret".to_owned()];
        let both = Wanted {
            key: true,
            headers: &names,
            proxy_password: false,
        };
        let (secrets, _) = parse("sk-1\nhv-1\nhv-2\n", both)?;
        assert_eq!(secrets.api_key.as_ref().map(ApiKey::expose), Some("sk-1"));
        let headers: Vec<(&str, &str)> = secrets
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.expose()))
            .collect();
        assert_eq!(
            headers,
            vec![("api-key", "hv-1"), ("CF-Access-Client-Secret", "hv-2")]
        );
        assert!(parse("sk-1\nhv-1\n", both).is_err());
        Ok(())
    }

    #[test]
    fn the_proxy_password_comes_last_and_alone_keeps_its_spaces() -> TestResult {
        let names = vec!["api-key".to_owned()];
        let all = Wanted {
            key: true,
            headers: &names,
            proxy_password: true,
        };
        let (secrets, _) = parse("sk-1\nhv-1\npass word\n", all)?;
        assert_eq!(secrets.api_key.as_ref().map(ApiKey::expose), Some("sk-1"));
        assert_eq!(secrets.headers[0].1.expose(), "hv-1");
        assert_eq!(
            secrets.proxy_password.as_ref().map(ApiKey::expose),
            Some("pass word")
        );
        let only = Wanted {
            proxy_password: true,
            ..Wanted::default()
        };
        let (secrets, trimmed) = parse(" p4ss \n", only)?;
        assert!(trimmed);
        assert_eq!(
            secrets.proxy_password.as_ref().map(ApiKey::expose),
            Some(" p4ss ")
        );
        match parse("", only) {
            Err(CliError::SecretInput { field, .. }) => assert_eq!(field, "proxy_password"),
            other => panic!("expected a stdin error, got {other:?}"),
        }
        Ok(())
    }
}
