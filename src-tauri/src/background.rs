//! Runs blocking use cases (the config file, the keychain) on the blocking
//! pool, so no command ever stalls the async runtime or the window.

use patchbay_service::ServiceError;

use crate::error::AppError;

/// Runs `task` off the async runtime's worker threads.
pub(crate) async fn blocking<T, E, F>(task: F) -> Result<T, AppError>
where
    T: Send + 'static,
    E: Into<AppError> + Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    match tauri::async_runtime::spawn_blocking(task).await {
        Ok(result) => result.map_err(Into::into),
        Err(join_error) => {
            tracing::error!(error = %join_error, "a blocking task did not finish");
            Err(ServiceError::Interrupted.into())
        }
    }
}
