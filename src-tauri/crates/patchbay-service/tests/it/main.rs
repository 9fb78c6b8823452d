//! patchbay-service's integration tests: the use cases against real
//! servers on 127.0.0.1 (the test kit's) and the real Secret Service (the
//! private session `scripts/test.sh` starts), each test under a keychain
//! service name of its own.

mod apps_view;
mod models;
mod support;
mod testing;
