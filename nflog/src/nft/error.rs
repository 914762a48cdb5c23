//! What can go wrong installing rules: the kernel's refusals, with its own words.

use core::fmt;
use std::io;

use crate::nft::expr::{DecodeError, ExprError};
use crate::nft::msg::MessageInfo;

/// An error of the nf_tables side: building, sending or reading rules.
#[derive(Debug)]
#[non_exhaustive]
pub enum NftError {
    /// A rule, chain or set that nf_tables would refuse, found before sending.
    Invalid(ExprError),
    /// EPERM: the process lacks `CAP_NET_ADMIN` in the socket's network namespace.
    PermissionDenied,
    /// The kernel has no nf_tables (`CONFIG_NF_TABLES`), or not the family or feature.
    Unsupported {
        /// What is missing.
        what: &'static str,
        /// The errno.
        errno: i32,
        /// The kernel's extended ACK message, if it sent one.
        kernel_message: Option<String>,
    },
    /// An interface that does not exist in the socket's network namespace.
    NoSuchInterface {
        /// Its name.
        name: String,
    },
    /// The kernel refused a message of the batch; nothing of the batch was applied.
    Kernel {
        /// The message refused, when the answer named one of ours.
        message: Option<MessageInfo>,
        /// The errno.
        errno: i32,
        /// The kernel's extended ACK message (`NLMSGERR_ATTR_MSG`), if it sent one.
        kernel_message: Option<String>,
        /// The byte offset, in the refused message, of the attribute the kernel blamed
        /// (`NLMSGERR_ATTR_OFFS`).
        offset: Option<u32>,
    },
    /// A system call failed, or the kernel did not answer.
    Io {
        /// What the call was for.
        operation: &'static str,
        /// The error.
        source: io::Error,
    },
    /// A rule read back from the kernel that does not decode.
    Decode(DecodeError),
    /// The network namespace could not be entered (see [`crate::Error::Namespace`]).
    Namespace(Box<crate::Error>),
}

impl NftError {
    /// The errno behind this error, when the kernel or a system call gave one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            NftError::PermissionDenied => Some(libc::EPERM),
            NftError::Unsupported { errno, .. } | NftError::Kernel { errno, .. } => Some(*errno),
            NftError::NoSuchInterface { .. } => Some(libc::ENODEV),
            NftError::Io { source, .. } => source.raw_os_error(),
            NftError::Namespace(e) => e.raw_os_error(),
            NftError::Invalid(_) | NftError::Decode(_) => None,
        }
    }

    pub(crate) fn io(operation: &'static str, source: io::Error) -> NftError {
        NftError::Io { operation, source }
    }
}

impl From<ExprError> for NftError {
    fn from(e: ExprError) -> Self {
        NftError::Invalid(e)
    }
}

impl From<DecodeError> for NftError {
    fn from(e: DecodeError) -> Self {
        NftError::Decode(e)
    }
}

impl fmt::Display for NftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NftError::Invalid(e) => write!(f, "cannot build the nftables rule: {e}"),
            NftError::PermissionDenied => f.write_str(
                "not permitted to change the nftables ruleset: installing a rule needs \
                 CAP_NET_ADMIN in the network namespace; run as root or grant it with \
                 `setcap cap_net_admin+ep PROGRAM`",
            ),
            NftError::Unsupported {
                what,
                errno,
                kernel_message,
            } => {
                write!(
                    f,
                    "the kernel lacks {what} ({})",
                    io::Error::from_raw_os_error(*errno)
                )?;
                if let Some(m) = kernel_message {
                    write!(f, ": {m}")?;
                }
                Ok(())
            }
            NftError::NoSuchInterface { name } => {
                write!(f, "no interface named {name:?} in this network namespace")
            }
            NftError::Kernel {
                message,
                errno,
                kernel_message,
                offset,
            } => {
                f.write_str("the kernel refused ")?;
                match message {
                    Some(m) => write!(f, "{m}")?,
                    None => f.write_str("the nftables batch")?,
                }
                write!(f, ": {}", io::Error::from_raw_os_error(*errno))?;
                if let Some(m) = kernel_message {
                    write!(f, " ({m})")?;
                }
                if let Some(o) = offset {
                    write!(f, " at byte {o} of the message")?;
                }
                Ok(())
            }
            NftError::Io { operation, source } => write!(f, "{operation}: {source}"),
            NftError::Decode(e) => write!(f, "malformed rule from the kernel: {e}"),
            NftError::Namespace(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NftError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            NftError::Invalid(e) => Some(e),
            NftError::Io { source, .. } => Some(source),
            NftError::Decode(e) => Some(e),
            NftError::Namespace(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}
