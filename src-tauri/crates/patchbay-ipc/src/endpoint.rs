//! The server's end of the local channel: claiming the endpoint exactly once
//! per user, accepting connections from the same user only, and leaving
//! nothing behind.
//!
//! On Unix the endpoint is a socket file in a directory of mode 0700 that we
//! own; the socket is 0600; each peer's uid is checked with `SO_PEERCRED`. A
//! lock file beside the socket (`ipc.sock.lock`, holding the server's pid)
//! makes "is another server running?" a question the kernel answers; an
//! existing socket file is removed only when it is a socket, we hold the
//! lock, and connecting to it is refused (nobody is listening).
//!
//! On Windows the endpoint is normally a file in the per-user runtime
//! directory (`%LOCALAPPDATA%\patchbay\ipc.pipe`): the server creates a pipe
//! named `\\.\pipe\patchbay-<user>-<128 random bits in hex>` and publishes
//! that name in the file (temp file + rename), which only this user can
//! write. Pipe names are machine-global, but another user can neither guess
//! this one nor create it first, nor point our clients elsewhere: the
//! squatting a fixed name allowed is closed by construction, as on Unix by
//! the 0700 directory. A `\\.\pipe\…` endpoint (tests, `PATCHBAY_PIPE_NAME`)
//! is used as is. Either way the pipe has a DACL for this user only, remote
//! clients are rejected, and it is created as the first instance. A second
//! server is refused by a lock file (Wine does not enforce "first
//! instance"): `<file>.lock` beside the published file (pid in
//! `<file>.pid`), or `<runtime dir>\<pipe name>.lock` for a fixed name. The
//! published file is removed on shutdown if it still names our pipe; one
//! left by a crash is overwritten by the next server, which holds the lock.

use std::io;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::{IpcError, Result};

/// A connected client stream.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// The platform's default endpoint ([`patchbay_protocol::paths::ipc_endpoint`]):
/// the socket on Unix; on Windows the file to publish the pipe's name in,
/// or the fixed pipe `PATCHBAY_PIPE_NAME` names.
pub fn default_endpoint() -> Result<PathBuf> {
    patchbay_protocol::paths::ipc_endpoint().ok_or(IpcError::NoEndpoint {
        what: if cfg!(windows) {
            "IPC pipe-name file (in %LOCALAPPDATA%)"
        } else {
            "IPC socket"
        },
    })
}

#[cfg(unix)]
pub(crate) use unix::Listener;
#[cfg(windows)]
pub(crate) use windows::Listener;

#[cfg(unix)]
mod unix {
    use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::unix::fs::{
        DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt,
    };

    use tokio::net::{UnixListener, UnixStream};

    use super::*;

    /// The bound socket. Dropping it removes the socket file (only if it is
    /// still the one we created) and releases the lock.
    #[derive(Debug)]
    pub(crate) struct Listener {
        listener: UnixListener,
        path: PathBuf,
        identity: (u64, u64),
        own_uid: u32,
        // Held for the server's lifetime: the kernel releases it if we crash.
        _lock: File,
    }

    impl Listener {
        pub(crate) async fn bind(path: &Path) -> Result<Self> {
            let directory = path.parent().ok_or_else(|| IpcError::UnsafeDirectory {
                path: path.to_owned(),
                reason: "the socket path has no parent directory".to_owned(),
            })?;
            let own_uid = current_uid()?;
            prepare_directory(directory, own_uid)?;
            let lock = claim_lock(path)?;
            remove_stale_socket(path).await?;
            let listener =
                UnixListener::bind(path).map_err(|error| IpcError::io("listen on", path, error))?;
            // The 0700 directory already keeps other users out; 0600 on the
            // socket is the second fence the issue asks for.
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                .map_err(|error| IpcError::io("set permissions of", path, error))?;
            let metadata =
                fs::symlink_metadata(path).map_err(|error| IpcError::io("inspect", path, error))?;
            Ok(Self {
                listener,
                path: path.to_owned(),
                identity: (metadata.dev(), metadata.ino()),
                own_uid,
                _lock: lock,
            })
        }

        pub(crate) fn path(&self) -> &Path {
            &self.path
        }

        /// The next connection from our own uid. Connections from other uids
        /// (only possible if someone loosened the directory's mode) are
        /// closed at once and logged.
        /// The next connection from our own uid, with the peer's pid when
        /// the OS reports it. Connections from other uids (only possible if
        /// someone loosened the directory's mode) are closed at once and
        /// logged.
        pub(crate) async fn accept(&self) -> io::Result<(Box<dyn Stream>, Option<u32>)> {
            loop {
                let (stream, _address) = self.listener.accept().await?;
                match stream.peer_cred() {
                    Ok(credentials) if credentials.uid() == self.own_uid => {
                        let pid = credentials.pid().and_then(|pid| u32::try_from(pid).ok());
                        return Ok((Box::new(stream), pid));
                    }
                    Ok(credentials) => {
                        tracing::warn!(
                            peer_uid = credentials.uid(),
                            "refused an IPC connection from another user"
                        );
                    }
                    Err(error) => {
                        tracing::warn!(%error, "refused an IPC connection whose peer could not be identified")
                    }
                }
            }
        }
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            // Another server may have replaced the file after a forced
            // takeover; only remove the socket we created.
            let ours = fs::symlink_metadata(&self.path)
                .map(|metadata| (metadata.dev(), metadata.ino()) == self.identity)
                .unwrap_or(false);
            if ours {
                if let Err(error) = fs::remove_file(&self.path) {
                    tracing::warn!(path = %self.path.display(), %error, "could not remove the IPC socket");
                }
            }
        }
    }

    /// The process's effective uid without `libc` (the workspace forbids
    /// `unsafe`): the owner of `/proc/self`, or of a file we just created.
    fn current_uid() -> Result<u32> {
        if let Ok(metadata) = fs::metadata("/proc/self") {
            return Ok(metadata.uid());
        }
        let path = std::env::temp_dir().join(format!(".patchbay-ipc-uid-{}", std::process::id()));
        let file = File::create(&path).map_err(|error| IpcError::io("create", &path, error))?;
        let uid = file
            .metadata()
            .map_err(|error| IpcError::io("inspect", &path, error))?
            .uid();
        drop(file);
        fs::remove_file(&path).map_err(|error| IpcError::io("remove", &path, error))?;
        Ok(uid)
    }

    /// Creates the runtime directory 0700, or checks an existing one: a real
    /// directory (not a symlink), owned by us. A mode looser than 0700 on our
    /// own directory is tightened rather than refused.
    fn prepare_directory(directory: &Path, own_uid: u32) -> Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(directory)
            .map_err(|error| IpcError::io("create", directory, error))?;
        let metadata = fs::symlink_metadata(directory)
            .map_err(|error| IpcError::io("inspect", directory, error))?;
        if !metadata.file_type().is_dir() {
            return Err(IpcError::UnsafeDirectory {
                path: directory.to_owned(),
                reason: "it is not a directory (a symlink?)".to_owned(),
            });
        }
        if metadata.uid() != own_uid {
            return Err(IpcError::UnsafeDirectory {
                path: directory.to_owned(),
                reason: format!(
                    "it belongs to uid {}, not to this user (uid {own_uid})",
                    metadata.uid()
                ),
            });
        }
        if metadata.mode() & 0o077 != 0 {
            fs::set_permissions(directory, fs::Permissions::from_mode(0o700))
                .map_err(|error| IpcError::io("set permissions of", directory, error))?;
        }
        Ok(())
    }

    /// Takes the exclusive lock next to the socket and writes our pid into
    /// it. Failing to get it means another server is running.
    fn claim_lock(socket: &Path) -> Result<File> {
        let lock_path = lock_path(socket);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|error| IpcError::io("open", &lock_path, error))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut contents = String::new();
                let pid = match file.read_to_string(&mut contents) {
                    Ok(_) => contents.trim().parse().ok(),
                    Err(_) => None,
                };
                return Err(IpcError::AlreadyRunning {
                    endpoint: socket.display().to_string(),
                    pid,
                });
            }
            Err(TryLockError::Error(error)) => return Err(IpcError::io("lock", &lock_path, error)),
        }
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()));
        written.map_err(|error| IpcError::io("write", &lock_path, error))?;
        Ok(file)
    }

    pub(super) fn lock_path(socket: &Path) -> PathBuf {
        let mut name = socket
            .file_name()
            .map(|name| name.to_os_string())
            .unwrap_or_default();
        name.push(".lock");
        socket.with_file_name(name)
    }

    /// Removes a socket file left by a crashed server. Never removes a
    /// non-socket file, and never a socket someone is listening on.
    async fn remove_stale_socket(path: &Path) -> Result<()> {
        let metadata = match fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(IpcError::io("inspect", path, error)),
        };
        if !metadata.file_type().is_socket() {
            return Err(IpcError::NotASocket {
                path: path.to_owned(),
            });
        }
        match UnixStream::connect(path).await {
            Ok(stream) => {
                // Someone is serving without our lock (an older Patchbay):
                // theirs to keep.
                let pid = stream
                    .peer_cred()
                    .ok()
                    .and_then(|credentials| credentials.pid());
                Err(IpcError::AlreadyRunning {
                    endpoint: path.display().to_string(),
                    pid: pid.and_then(|pid| u32::try_from(pid).ok()),
                })
            }
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(path = %path.display(), "removing a stale IPC socket left by a previous run");
                fs::remove_file(path)
                    .map_err(|error| IpcError::io("remove the stale socket", path, error))
            }
            Err(error) => Err(IpcError::io("probe the existing socket", path, error)),
        }
    }
}

#[cfg(windows)]
mod windows {
    use std::fs::{self, File, OpenOptions, TryLockError};
    use std::io::Write;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use interprocess::os::windows::named_pipe::tokio::{DuplexPipeStream, PipeListener};
    use interprocess::os::windows::named_pipe::{pipe_mode, PipeListenerOptions, PipeMode};
    use interprocess::os::windows::security_descriptor::SecurityDescriptor;
    use interprocess::os::windows::ToWtf16;
    use patchbay_protocol::paths::PIPE_PREFIX;
    use tokio::io::ReadBuf;

    use super::*;

    /// The pipe's security descriptor (SDDL): a protected DACL (`P`: no
    /// inherited entries) granting full access to the pipe's owner (`OW`,
    /// the user whose token created it, i.e. whoever runs this server) and
    /// to LocalSystem (`SY`), and nothing to anyone else. Windows' default
    /// named-pipe DACL also grants read to Everyone and Anonymous; this one
    /// does not. `OW` stands in for the current user's SID, which std gives
    /// no safe way to read (the workspace forbids `unsafe`). For an elevated
    /// administrator the token's default owner is the Administrators group,
    /// so there `OW` also admits other administrators, who can read any
    /// user's memory anyway.
    pub(crate) const PIPE_SDDL: &str = "D:P(A;;GA;;;OW)(A;;GA;;;SY)";

    /// How long `bind` waits for an existing pipe of that name to go away
    /// while it holds the lock (see there).
    const FOREIGN_PIPE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

    /// The named pipe, plus a lock file that makes "is another server
    /// running?" a question the OS answers, as on Unix, and (by default)
    /// the file that publishes the pipe's random name.
    ///
    /// Built on `interprocess` rather than tokio's `named_pipe` because only
    /// it sets a security descriptor without `unsafe` in our code. Its
    /// listener creates the first instance with `FILE_FLAG_FIRST_PIPE_INSTANCE`
    /// and every instance with `PIPE_REJECT_REMOTE_CLIENTS` and our DACL, and
    /// creates the next instance right after each connection, so clients
    /// never find the pipe missing.
    #[derive(Debug)]
    pub(crate) struct Listener {
        listener: PipeListener<pipe_mode::Bytes, pipe_mode::Bytes>,
        path: PathBuf,
        /// The name we published, when the endpoint is a published-name file.
        published: Option<String>,
        // Held for the server's lifetime: Windows releases it if we crash.
        _lock: File,
    }

    impl Listener {
        /// A `\\.\pipe\…` endpoint is that pipe; anything else is the file
        /// to publish a random pipe name in.
        pub(crate) async fn bind(path: &Path) -> Result<Self> {
            if patchbay_protocol::paths::names_a_pipe(path) {
                Self::bind_fixed(path).await
            } else {
                Self::bind_published(path)
            }
        }

        async fn bind_fixed(path: &Path) -> Result<Self> {
            let leaf = pipe_leaf(path)?;
            let lock_directory =
                patchbay_protocol::paths::runtime_dir().ok_or(IpcError::NoEndpoint {
                    what: "runtime directory for the IPC lock file",
                })?;
            let lock = claim_lock(&lock_directory, &leaf, path)?;
            // A server that just stopped may still have its waiting instance
            // open for a moment (it closes once the runtime has processed
            // the cancelled connect), and "first instance" fails until then.
            let deadline = tokio::time::Instant::now() + FOREIGN_PIPE_PATIENCE;
            let listener = loop {
                match create_listener(path) {
                    Ok(listener) => break listener,
                    Err(error)
                        if error.kind() == io::ErrorKind::PermissionDenied
                            && tokio::time::Instant::now() < deadline =>
                    {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    // We hold the lock, so this is not a Patchbay that uses
                    // it: another process (an older Patchbay, another
                    // program, another user) has created this pipe name.
                    Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                        return Err(IpcError::AlreadyRunning {
                            endpoint: path.display().to_string(),
                            pid: None,
                        })
                    }
                    Err(error) => return Err(IpcError::io("create the named pipe", path, error)),
                }
            };
            Ok(Self {
                listener,
                path: path.to_owned(),
                published: None,
                _lock: lock,
            })
        }

        /// Takes the lock beside `file`, creates a pipe nobody can have
        /// created before us (its name has 128 fresh random bits), and only
        /// then publishes its name, so a client never reads a name that
        /// does not exist yet. A file left by a crashed server is replaced.
        fn bind_published(file: &Path) -> Result<Self> {
            let file_name = file.file_name().and_then(std::ffi::OsStr::to_str);
            let (directory, file_name) = match (file.parent(), file_name) {
                (Some(directory), Some(file_name)) if !directory.as_os_str().is_empty() => {
                    (directory, file_name)
                }
                _ => {
                    return Err(IpcError::io(
                        "publish the pipe name in",
                        file,
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            r"the endpoint is neither a pipe name (\\.\pipe\…) nor a file path with a directory, like %LOCALAPPDATA%\patchbay\ipc.pipe",
                        ),
                    ))
                }
            };
            let lock = claim_lock(directory, file_name, file)?;
            let name = random_pipe_name()?;
            let listener = create_listener(Path::new(&name))
                .map_err(|error| IpcError::io("create the named pipe", &name, error))?;
            publish(directory, file, &name)?;
            tracing::info!(pipe = %name, file = %file.display(), "published the IPC pipe's name");
            Ok(Self {
                listener,
                path: file.to_owned(),
                published: Some(name),
                _lock: lock,
            })
        }

        pub(crate) fn path(&self) -> &Path {
            &self.path
        }

        /// The next connection. The DACL already kept other users out, and
        /// remote clients cannot open the pipe at all.
        pub(crate) async fn accept(&self) -> io::Result<(Box<dyn Stream>, Option<u32>)> {
            let stream = self.listener.accept().await?;
            let pid = match stream.client_process_id() {
                Ok(pid) => Some(pid),
                Err(error) => {
                    tracing::debug!(%error, "IPC client connected (pid unknown)");
                    None
                }
            };
            Ok((Box::new(Connection(stream)), pid))
        }
    }

    impl Drop for Listener {
        /// Removes the published-name file, but only while it still names
        /// our pipe (before the lock is released with the other fields).
        fn drop(&mut self) {
            let Some(name) = &self.published else {
                return;
            };
            match fs::read_to_string(&self.path) {
                Ok(contents) if contents.trim() == name => {
                    if let Err(error) = fs::remove_file(&self.path) {
                        tracing::warn!(%error, file = %self.path.display(), "could not remove the IPC pipe-name file");
                    }
                }
                Ok(_) => tracing::warn!(
                    file = %self.path.display(),
                    "the IPC pipe-name file names another pipe now; left in place"
                ),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(%error, file = %self.path.display(), "could not read the IPC pipe-name file to remove it")
                }
            }
        }
    }

    /// `\\.\pipe\patchbay-<USERNAME>-<32 hex digits>`: 128 bits from the OS,
    /// so no other user can guess the name and create the pipe first.
    fn random_pipe_name() -> Result<String> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|error| IpcError::Internal {
            detail: format!("no OS randomness for the pipe name: {error}"),
        })?;
        let user = std::env::var("USERNAME").ok();
        Ok(patchbay_protocol::paths::published_pipe_name(
            user.as_deref(),
            &hex::encode(nonce),
        ))
    }

    /// Writes `name` into `file` atomically: a temp file beside it (only
    /// the lock holder writes there), flushed, then renamed over `file`, so
    /// a client reads the old name or the new one, never half of either.
    fn publish(directory: &Path, file: &Path, name: &str) -> Result<()> {
        let temporary = directory.join(format!(
            ".{}.{}.tmp",
            file.file_name()
                .map(|file_name| file_name.to_string_lossy())
                .unwrap_or_default(),
            std::process::id()
        ));
        let written = File::create(&temporary).and_then(|mut opened| {
            opened.write_all(name.as_bytes())?;
            opened.sync_all()
        });
        if let Err(error) = written.and_then(|()| fs::rename(&temporary, file)) {
            if let Err(cleanup) = fs::remove_file(&temporary) {
                if cleanup.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(error = %cleanup, file = %temporary.display(), "could not remove a temporary file");
                }
            }
            return Err(IpcError::io("publish the pipe name in", file, error));
        }
        Ok(())
    }

    fn create_listener(
        path: &Path,
    ) -> io::Result<PipeListener<pipe_mode::Bytes, pipe_mode::Bytes>> {
        let sddl = std::ffi::OsStr::new(PIPE_SDDL)
            .to_wtf_16()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let security = SecurityDescriptor::deserialize(&sddl)?;
        let name = path
            .to_wtf_16()
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let mut options = PipeListenerOptions::new()
            .mode(PipeMode::Bytes)
            .accept_remote(false)
            // tokio's defaults; interprocess's 512-byte hints would split
            // every entries list into many small transfers.
            .input_buffer_size_hint(65536)
            .output_buffer_size_hint(65536)
            .security_descriptor(Some(security));
        options.path = name;
        options.create_tokio_duplex::<pipe_mode::Bytes>()
    }

    /// A connected pipe instance. Flushing is a no-op: a write completes once
    /// the data is in the pipe, and closing our handle does not discard what
    /// the client has yet to read (like closing a socket). interprocess's own
    /// flush calls `FlushFileBuffers`, which waits until the client has read
    /// everything, so a client that stops reading would hold a blocking
    /// thread (and the server's shutdown) forever.
    #[derive(Debug)]
    struct Connection(DuplexPipeStream<pipe_mode::Bytes>);

    impl AsyncRead for Connection {
        fn poll_read(
            self: Pin<&mut Self>,
            context: &mut Context<'_>,
            buffer: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().0).poll_read(context, buffer)
        }
    }

    impl AsyncWrite for Connection {
        fn poll_write(
            self: Pin<&mut Self>,
            context: &mut Context<'_>,
            bytes: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.get_mut().0).poll_write(context, bytes)
        }

        fn poll_flush(self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl Drop for Connection {
        fn drop(&mut self) {
            // Otherwise interprocess hands the unflushed pipe to a "limbo"
            // thread that calls FlushFileBuffers (see above) before closing.
            self.0.assume_flushed();
        }
    }

    /// The part of `\\.\pipe\<leaf>` after the prefix, checked: a pipe name
    /// must be in the pipe namespace, non-empty, without further
    /// backslashes or NULs.
    pub(crate) fn pipe_leaf(path: &Path) -> Result<String> {
        let invalid = |reason: &str| {
            IpcError::io(
                "use",
                path,
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{reason}; a Patchbay pipe name looks like \\\\.\\pipe\\patchbay-<user>"
                    ),
                ),
            )
        };
        let text = path
            .to_str()
            .ok_or_else(|| invalid("the pipe name is not valid Unicode"))?;
        let prefix_length = PIPE_PREFIX.len();
        let has_prefix = text
            .get(..prefix_length)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(PIPE_PREFIX));
        if !has_prefix {
            return Err(invalid("it does not start with \\\\.\\pipe\\"));
        }
        let leaf = &text[prefix_length..];
        if leaf.is_empty() || leaf.contains(['\\', '\0']) {
            return Err(invalid(
                "the name after \\\\.\\pipe\\ is empty or contains a backslash or NUL",
            ));
        }
        Ok(leaf.to_owned())
    }

    /// `<runtime dir>\<leaf>.lock`, with the characters a file name cannot
    /// hold replaced by `_`.
    pub(crate) fn lock_path(directory: &Path, leaf: &str) -> PathBuf {
        let safe: String = leaf
            .chars()
            .map(|character| {
                if character.is_ascii_alphanumeric() || matches!(character, '-' | '_' | '.') {
                    character
                } else {
                    '_'
                }
            })
            .collect();
        directory.join(format!("{safe}.lock"))
    }

    /// `<lock>.pid`: Windows' locks are mandatory, so nobody else could
    /// read a pid written into the locked file itself.
    fn pid_path(lock: &Path) -> PathBuf {
        lock.with_extension("pid")
    }

    /// Takes the exclusive lock for this pipe name and records our pid
    /// beside it. Failing to get it means another server is running.
    fn claim_lock(directory: &Path, leaf: &str, endpoint: &Path) -> Result<File> {
        fs::create_dir_all(directory).map_err(|error| IpcError::io("create", directory, error))?;
        let lock_path = lock_path(directory, leaf);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|error| IpcError::io("open", &lock_path, error))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = fs::read_to_string(pid_path(&lock_path))
                    .ok()
                    .and_then(|contents| contents.trim().parse().ok());
                return Err(IpcError::AlreadyRunning {
                    endpoint: endpoint.display().to_string(),
                    pid,
                });
            }
            Err(TryLockError::Error(error)) => return Err(IpcError::io("lock", &lock_path, error)),
        }
        let pid_path = pid_path(&lock_path);
        let written = File::create(&pid_path)
            .and_then(|mut pid_file| writeln!(pid_file, "{}", std::process::id()));
        written.map_err(|error| IpcError::io("write", &pid_path, error))?;
        Ok(file)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::unix::lock_path;
    use super::*;

    #[test]
    fn lock_file_sits_beside_the_socket() {
        assert_eq!(
            lock_path(Path::new("/run/user/1/patchbay/ipc.sock")),
            PathBuf::from("/run/user/1/patchbay/ipc.sock.lock")
        );
    }
}

#[cfg(all(test, windows))]
mod windows_tests {
    use std::ffi::OsStr;

    use interprocess::os::windows::security_descriptor::{
        AsSecurityDescriptorExt, SecurityDescriptor,
    };
    use interprocess::os::windows::ToWtf16;

    use super::windows::{lock_path, pipe_leaf, PIPE_SDDL};
    use super::*;

    /// What Windows' own SDDL parser makes of the pipe's descriptor, read
    /// back: a protected DACL with exactly the owner and LocalSystem, no
    /// Everyone (`WD`) or Anonymous (`AN`) as in the default pipe DACL.
    #[test]
    fn the_pipe_dacl_admits_only_its_owner_and_system() {
        const DACL_SECURITY_INFORMATION: u32 = 4;
        let sddl = OsStr::new(PIPE_SDDL).to_wtf_16().expect("no NUL");
        let descriptor = SecurityDescriptor::deserialize(&sddl).expect("valid SDDL");
        let dacl = descriptor
            .serialize(DACL_SECURITY_INFORMATION, |text| text.to_string_lossy())
            .expect("serialize");
        assert_eq!(dacl, "D:P(A;;GA;;;OW)(A;;GA;;;SY)");
    }

    #[test]
    fn pipe_names_are_checked_and_lock_files_named_after_them() {
        assert_eq!(
            pipe_leaf(Path::new(r"\\.\pipe\patchbay-alice")).expect("valid"),
            "patchbay-alice"
        );
        assert_eq!(
            pipe_leaf(Path::new(r"\\.\PIPE\x")).expect("case-insensitive"),
            "x"
        );
        for bad in [
            r"C:\patchbay\ipc.sock",
            r"\\.\pipe\",
            r"\\.\pipe\a\b",
            r"\\server\pipe\patchbay",
        ] {
            let error = pipe_leaf(Path::new(bad)).expect_err(bad);
            assert_eq!(error.kind().as_str(), "io", "{bad}");
        }
        assert_eq!(
            lock_path(
                Path::new(r"C:\Users\a\AppData\Local\patchbay"),
                "patchbay-Jo Ann:1"
            ),
            PathBuf::from(r"C:\Users\a\AppData\Local\patchbay\patchbay-Jo_Ann_1.lock")
        );
    }
}
