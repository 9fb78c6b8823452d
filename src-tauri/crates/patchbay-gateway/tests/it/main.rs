//! The gateway against fake providers on 127.0.0.1: what the provider
//! receives, what the host app gets back, streaming, and every error row.

mod anthropic;
mod capabilities;
mod errors;
mod gateway;
mod load;
mod openai_client;
mod prompt;
mod support;
