//! The one error type of the engine. Every fallible call returns `Result<T>`;
//! bad input and I/O failures are values, never panics.

use alloc::string::String;
use core::fmt;

/// What kind of storage failure happened, so callers (and the JS layer) can
/// react without parsing messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoKind {
    /// The named file does not exist.
    NotFound,
    /// `create` found the name already taken.
    AlreadyExists,
    /// The medium is full or the browser's quota is exhausted.
    QuotaExceeded,
    /// Another process, tab or worker holds the store.
    Locked,
    /// Any other failure reported by the backend.
    Other,
}

/// Every error the engine can return.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A key is empty or longer than `Options::key_size_max`.
    InvalidKey { reason: String },
    /// A value is longer than `Options::value_size_max`.
    InvalidValue { reason: String },
    /// An option is zero, out of range, or inconsistent with another option.
    InvalidOptions { reason: String },
    /// Any other argument that makes no sense (an empty batch, a reversed range...).
    InvalidArgument { reason: String },
    /// Stored bytes fail a checksum or do not parse. Names the file and the
    /// byte offset where the damage was found.
    Corruption { file: String, offset: u64, reason: String },
    /// A stored file was written by a format version this build cannot read.
    UnsupportedFormat { file: String, found: u32, supported: u32 },
    /// The storage backend failed.
    Io { kind: IoKind, file: String, message: String },
    /// An earlier write or sync failed, so the database refuses further writes
    /// until it is reopened (reopening recovers from the WAL).
    ReadOnly { reason: String },
    /// The database was closed.
    Closed,
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// Builds an `Error::Corruption`.
    pub fn corruption(file: &str, offset: u64, reason: impl Into<String>) -> Error {
        Error::Corruption { file: file.into(), offset, reason: reason.into() }
    }

    /// Builds an `Error::Io`.
    pub fn io(kind: IoKind, file: &str, message: impl Into<String>) -> Error {
        Error::Io { kind, file: file.into(), message: message.into() }
    }

    /// Builds an `Error::InvalidArgument`.
    pub fn invalid_argument(reason: impl Into<String>) -> Error {
        Error::InvalidArgument { reason: reason.into() }
    }

    /// Builds an `Error::InvalidOptions`.
    pub fn invalid_options(reason: impl Into<String>) -> Error {
        Error::InvalidOptions { reason: reason.into() }
    }

    /// A short, stable, machine-readable name for the variant (the JS layer
    /// turns it into an `LSMKV_*` code).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidKey { .. } => "INVALID_KEY",
            Error::InvalidValue { .. } => "INVALID_VALUE",
            Error::InvalidOptions { .. } => "INVALID_OPTIONS",
            Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Error::Corruption { .. } => "CORRUPTION",
            Error::UnsupportedFormat { .. } => "UNSUPPORTED_FORMAT",
            Error::Io { kind: IoKind::QuotaExceeded, .. } => "QUOTA",
            Error::Io { kind: IoKind::Locked, .. } => "LOCKED",
            Error::Io { kind: IoKind::NotFound, .. } => "NOT_FOUND",
            Error::Io { .. } => "IO",
            Error::ReadOnly { .. } => "READ_ONLY",
            Error::Closed => "CLOSED",
        }
    }

    /// True when the error is `Io` of the given kind.
    pub fn is_io(&self, want: IoKind) -> bool {
        matches!(self, Error::Io { kind, .. } if *kind == want)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidKey { reason } => write!(f, "invalid key: {reason}"),
            Error::InvalidValue { reason } => write!(f, "invalid value: {reason}"),
            Error::InvalidOptions { reason } => write!(f, "invalid options: {reason}"),
            Error::InvalidArgument { reason } => write!(f, "invalid argument: {reason}"),
            Error::Corruption { file, offset, reason } => {
                write!(f, "corruption in {file} at byte {offset}: {reason}")
            }
            Error::UnsupportedFormat { file, found, supported } => {
                write!(f, "{file} has format version {found}; this build reads version {supported}")
            }
            Error::Io { kind, file, message } => write!(f, "storage error ({kind:?}) on {file}: {message}"),
            Error::ReadOnly { reason } => {
                write!(f, "database is read-only after an earlier failure ({reason}); reopen it to recover")
            }
            Error::Closed => write!(f, "database is closed"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
