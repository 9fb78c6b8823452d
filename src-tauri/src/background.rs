//! Runs blocking domain calls (the config file, the keychain) on the
//! blocking pool, so no command ever stalls the async runtime or the window.

use crate::error::AppError;

/// Runs `task` off the async runtime's worker threads.
pub(crate) async fn blocking<T, F>(task: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, patchbay_core::Error> + Send + 'static,
{
    match tauri::async_runtime::spawn_blocking(task).await {
        Ok(result) => result.map_err(AppError::from),
        Err(join_error) => {
            tracing::error!(error = %join_error, "a domain task did not finish");
            Err(AppError::Interrupted)
        }
    }
}
