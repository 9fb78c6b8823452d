//! One runtime for fixtures that synchronous tests use (the CLI's, the
//! app's, the window's): a fixture started with [`block_on`] keeps serving
//! on this runtime's worker after the call returns, until it is dropped.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("testkit-background")
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("the test runtime could not start: {error}"))
    })
}

/// Runs `future` (usually a fixture's `start`) on the background runtime.
/// Call it from synchronous code only, never inside another runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}
