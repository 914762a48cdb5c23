//! Errors: what went wrong, with the facts a caller can match on and the hint a user needs.

use core::fmt;
use std::io;

use crate::namespace::Netns;
use crate::wire::kind::PacketAttr;

/// The header (or fixed-size value) a [`ParseError::Truncated`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Header {
    /// A netlink message header (`struct nlmsghdr`, 16 bytes).
    NetlinkMessage,
    /// The body of an `NLMSG_ERROR` message (its 4-byte error code).
    NetlinkError,
    /// The nfnetlink header after the netlink header (`struct nfgenmsg`, 4 bytes).
    Nfgenmsg,
    /// An attribute header (`struct nlattr`, 4 bytes).
    Attribute,
    /// An attribute's value, shorter than its type needs (in a conntrack entry).
    Value,
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Header::NetlinkMessage => "netlink message header",
            Header::NetlinkError => "netlink error message",
            Header::Nfgenmsg => "nfgenmsg",
            Header::Attribute => "attribute header",
            Header::Value => "value",
        })
    }
}

/// Bytes from the kernel or a file that do not form a valid message.
///
/// Every variant says where and by how much: which header or attribute, and the lengths.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
// Perf: `repr(u8)` gives the enum a tag byte of its own. Without it the compiler hides the
// variant in the capacity of `Conntrack`'s `Vec`, and every `?` on `Packet::parse`'s path
// compares and rebuilds 64-bit niche values (docs/benchmarks.md, "Code shaped for speed").
#[repr(u8)]
pub enum ParseError {
    /// Fewer bytes than a fixed-size header needs.
    Truncated {
        /// The header that was cut.
        what: Header,
        /// Bytes it needs.
        needed: usize,
        /// Bytes there were.
        available: usize,
    },
    /// A netlink message whose `nlmsg_len` is under its header or past the datagram's end.
    MessageLength {
        /// The length the header declares.
        declared: usize,
        /// The bytes left in the datagram.
        available: usize,
    },
    /// An attribute whose `nla_len` is under 4 or past the end of what contains it.
    AttributeLength {
        /// The attribute's type (flags masked off).
        kind: u16,
        /// The length it declares.
        declared: usize,
        /// The bytes left where it starts.
        available: usize,
    },
    /// A known attribute whose value is shorter than the kernel's structure for it.
    AttributeSize {
        /// The attribute.
        attr: PacketAttr,
        /// The nested attribute's type, when the short value is inside a nest.
        nested: Option<u16>,
        /// The size the value needs.
        needed: usize,
        /// The size it has.
        found: usize,
    },
    /// `NFULA_HWADDR` declaring more address bytes than it has or than 8.
    HwAddrLength {
        /// `hw_addrlen` as sent.
        declared: usize,
        /// The address bytes there are room for.
        available: usize,
    },
    /// A required attribute is missing.
    MissingAttribute {
        /// The attribute.
        attr: PacketAttr,
    },
    /// A malformed attribute inside a nested attribute.
    Nested {
        /// The nesting attribute.
        attr: PacketAttr,
        /// What is wrong inside it.
        source: Box<ParseError>,
    },
    /// A netlink message that is not an nfnetlink_log packet message.
    NotPacket {
        /// Its `nlmsg_type`.
        message_type: u16,
    },
    /// A malformed ctnetlink attribute (`CTA_*`) in a conntrack entry (`NFULA_CT`).
    Conntrack {
        /// The attribute types from the top of the entry down to the bad attribute, such as
        /// `[1, 1, 1]` for `CTA_TUPLE_ORIG` > `CTA_TUPLE_IP` > `CTA_IP_V4_SRC`. When the
        /// bad attribute's header itself is cut short, the path ends at the nest holding it
        /// (empty at the top).
        path: Vec<u16>,
        /// What is wrong: [`AttributeLength`](ParseError::AttributeLength) for a length
        /// under 4 or past the end of the nest, [`Truncated`](ParseError::Truncated) for a
        /// header or a value shorter than its type needs.
        source: Box<ParseError>,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated {
                what,
                needed,
                available,
            } => write!(
                f,
                "truncated {what}: needs {needed} bytes, {available} left"
            ),
            ParseError::MessageLength {
                declared,
                available,
            } => write!(
                f,
                "netlink message declares {declared} bytes but {available} are left \
                 (at least 16 are needed)"
            ),
            ParseError::AttributeLength {
                kind,
                declared,
                available,
            } => {
                write!(f, "attribute ")?;
                write_kind(f, *kind)?;
                write!(
                    f,
                    " declares {declared} bytes but {available} are left (at least 4 are needed)"
                )
            }
            ParseError::AttributeSize {
                attr,
                nested,
                needed,
                found,
            } => {
                write!(f, "attribute {attr}")?;
                if let Some(kind) = nested {
                    write!(f, ", nested type {kind},")?;
                }
                write!(f, " has a {found}-byte value, needs {needed}")
            }
            ParseError::HwAddrLength {
                declared,
                available,
            } => write!(
                f,
                "attribute NFULA_HWADDR (8) declares a {declared}-byte address \
                 but has room for {available}"
            ),
            ParseError::MissingAttribute { attr } => {
                write!(f, "packet message lacks attribute {attr}")
            }
            ParseError::Nested { attr, source } => match source.as_ref() {
                // Nested types have their own numbering: do not name them as NFULA_*.
                ParseError::AttributeLength {
                    kind,
                    declared,
                    available,
                } => write!(
                    f,
                    "inside attribute {attr}: nested attribute type {kind} declares {declared} \
                     bytes but {available} are left (at least 4 are needed)"
                ),
                other => write!(f, "inside attribute {attr}: {other}"),
            },
            ParseError::NotPacket { message_type } => write!(
                f,
                "netlink message type {message_type:#06x} is not an nfnetlink_log packet (0x0400)"
            ),
            ParseError::Conntrack { path, source } => {
                if path.is_empty() {
                    f.write_str("conntrack entry (NFULA_CT)")?;
                } else {
                    f.write_str("conntrack attribute ")?;
                    crate::wire::ctattr::write_path(f, path)?;
                }
                match source.as_ref() {
                    // Nested types have their own numbering: the path names them.
                    ParseError::AttributeLength {
                        declared,
                        available,
                        ..
                    } => write!(
                        f,
                        " declares {declared} bytes but {available} are left \
                         (at least 4 are needed)"
                    ),
                    other => write!(f, ": {other}"),
                }
            }
        }
    }
}

fn write_kind(f: &mut fmt::Formatter<'_>, kind: u16) -> fmt::Result {
    match PacketAttr::from_number(kind) {
        Some(attr) => write!(f, "{attr}"),
        None => write!(f, "type {kind}"),
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ParseError::Nested { source, .. } | ParseError::Conntrack { source, .. } => {
                Some(source.as_ref())
            }
            _ => None,
        }
    }
}

/// A configuration request sent to the kernel, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// Opening the netlink socket.
    Open,
    /// Binding a group (`NFULNL_CFG_CMD_BIND`) with its settings.
    Bind,
    /// Unbinding a group (`NFULNL_CFG_CMD_UNBIND`).
    Unbind,
    /// Changing a bound group's settings.
    Configure,
    /// `NFULNL_CFG_CMD_PF_BIND` for a protocol family.
    PfBind,
    /// `NFULNL_CFG_CMD_PF_UNBIND` for a protocol family.
    PfUnbind,
    /// Receiving packets (an error message arrived among them).
    Receive,
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Request::Open => "open the nfnetlink socket",
            Request::Bind => "bind",
            Request::Unbind => "unbind",
            Request::Configure => "configure",
            Request::PfBind => "PF_BIND",
            Request::PfUnbind => "PF_UNBIND",
            Request::Receive => "deliver packets",
        })
    }
}

/// The socket, and if found the process, that owns a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOwner {
    /// The owning socket's netlink port id.
    pub port_id: u32,
    /// The process holding that socket, if `/proc` shows it: its pid and command name.
    pub process: Option<(u32, String)>,
}

impl fmt::Display for GroupOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "netlink port {}", self.port_id)?;
        if let Some((pid, command)) = &self.process {
            write!(f, ", process {pid} \"{command}\"")?;
        }
        Ok(())
    }
}

/// A group setting, named in [`Error::InvalidConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// [`GroupConfig::nlbufsiz`](crate::GroupConfig::nlbufsiz), in bytes.
    Nlbufsiz,
    /// [`GroupConfig::flush_timeout`](crate::GroupConfig::flush_timeout), in milliseconds.
    FlushTimeout,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setting::Nlbufsiz => "nlbufsiz",
            Setting::FlushTimeout => "flush timeout (ms)",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The kernel said EPERM and nobody else owns the group: the process lacks
    /// `CAP_NET_ADMIN` in the socket's network namespace.
    PermissionDenied {
        /// What was asked.
        request: Request,
        /// The group, if the request was for one.
        group: Option<u16>,
    },
    /// Another netlink socket (of this or another process) has bound the group.
    GroupOwned {
        /// The group.
        group: u16,
        /// Who owns it, as far as `/proc` tells.
        owner: Option<GroupOwner>,
    },
    /// This socket has bound the group already (EBUSY).
    AlreadyBound {
        /// The group.
        group: u16,
    },
    /// The group is not bound (ENODEV), so it cannot be unbound or configured.
    NotBound {
        /// The group.
        group: u16,
    },
    /// The kernel lacks a feature the request needs.
    Unsupported {
        /// What was asked.
        request: Request,
        /// What is missing.
        what: &'static str,
        /// The errno.
        errno: i32,
    },
    /// Any other refusal from the kernel.
    Kernel {
        /// What was asked.
        request: Request,
        /// The group, if the request was for one.
        group: Option<u16>,
        /// The errno.
        errno: i32,
    },
    /// A setting the kernel would accept with an ACK and then silently ignore, or that does
    /// not fit the wire format.
    InvalidConfig {
        /// The setting.
        setting: Setting,
        /// The value given.
        value: u64,
        /// What would be accepted.
        accepted: String,
    },
    /// A system call failed.
    Io {
        /// What the call was for.
        operation: &'static str,
        /// The error.
        source: io::Error,
    },
    /// A message from the kernel that does not parse.
    Parse(ParseError),
    /// A network namespace that cannot be opened or entered: it does not exist, the file is
    /// not a network namespace, or entering it needs CAP_SYS_ADMIN.
    Namespace {
        /// The namespace as given: `NAME`, a path, or `pid:PID`
        /// ([`Netns`]'s `Display`).
        netns: String,
        /// The error of `open` or `setns`.
        source: io::Error,
    },
}

impl Error {
    /// The errno behind this error, when it came from the kernel.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::PermissionDenied { .. } | Error::GroupOwned { .. } => Some(libc::EPERM),
            Error::AlreadyBound { .. } => Some(libc::EBUSY),
            Error::NotBound { .. } => Some(libc::ENODEV),
            Error::Unsupported { errno, .. } | Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            Error::Namespace { source, .. } => source.raw_os_error(),
            Error::InvalidConfig { .. } | Error::Parse(_) => None,
        }
    }

    pub(crate) fn io(operation: &'static str, source: io::Error) -> Error {
        Error::Io { operation, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::PermissionDenied { request, group } => {
                write!(f, "not permitted to {request}")?;
                if let Some(g) = group {
                    write!(f, " group {g}")?;
                }
                write!(
                    f,
                    ": NFLOG needs CAP_NET_ADMIN in the socket's network namespace; \
                     run as root or grant it with `setcap cap_net_admin+ep PROGRAM`"
                )
            }
            Error::GroupOwned { group, owner } => {
                write!(f, "group {group} is already bound by another socket")?;
                if let Some(owner) = owner {
                    write!(f, " ({owner})")?;
                }
                write!(
                    f,
                    "; stop that listener or use another group (each group has one listener \
                     per network namespace)"
                )
            }
            Error::AlreadyBound { group } => {
                write!(f, "group {group} is already bound by this socket")
            }
            Error::NotBound { group } => write!(f, "group {group} is not bound"),
            Error::Unsupported {
                request,
                what,
                errno,
            } => write!(
                f,
                "cannot {request}: the kernel lacks {what} ({})",
                io::Error::from_raw_os_error(*errno)
            ),
            Error::Kernel {
                request,
                group,
                errno,
            } => {
                write!(f, "the kernel refused to {request}")?;
                if let Some(g) = group {
                    write!(f, " group {g}")?;
                }
                write!(f, ": {}", io::Error::from_raw_os_error(*errno))
            }
            Error::InvalidConfig {
                setting,
                value,
                accepted,
            } => write!(
                f,
                "{setting} = {value} would be ignored by the kernel; use {accepted}"
            ),
            Error::Io { operation, source } => write!(f, "{operation}: {source}"),
            Error::Parse(e) => write!(f, "malformed message from the kernel: {e}"),
            Error::Namespace { netns, source } => write_namespace_error(f, netns, source),
        }
    }
}

/// Writes the message of [`Error::Namespace`]: what is wrong and what to do, for the
/// usual errnos.
fn write_namespace_error(
    f: &mut fmt::Formatter<'_>,
    netns: &str,
    source: &io::Error,
) -> fmt::Result {
    let parsed = netns.parse::<Netns>().ok();
    let named = match &parsed {
        Some(Netns::Path(path)) => format!("{}", path.display()),
        Some(other) => format!("\"{netns}\" ({})", other.path().display()),
        None => format!("\"{netns}\""),
    };
    match (source.raw_os_error(), &parsed) {
        (Some(libc::ENOENT), Some(Netns::Named(name))) => write!(
            f,
            "no network namespace {named}: create it with `ip netns add {name}`"
        ),
        (Some(libc::ENOENT | libc::ESRCH), Some(Netns::Pid(pid))) => {
            write!(f, "no network namespace {named}: is process {pid} running?")
        }
        (Some(libc::ENOENT), _) => write!(f, "no network namespace {named}: no such file"),
        (Some(libc::EPERM | libc::EACCES), _) => write!(
            f,
            "not permitted to enter network namespace {named}: needs CAP_SYS_ADMIN \
             (run as root)"
        ),
        (Some(libc::EINVAL), _) => write!(
            f,
            "{named} is not a network namespace: the kernel refused to enter it (setns)"
        ),
        _ => write!(f, "network namespace {named}: {source}"),
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Parse(e) => Some(e),
            Error::Namespace { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        Error::Parse(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io { source, .. } => source,
            other => {
                let kind = match other.raw_os_error() {
                    Some(errno) => io::Error::from_raw_os_error(errno).kind(),
                    None => io::ErrorKind::InvalidData,
                };
                io::Error::new(kind, other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The variant must sit in a tag of its own, not in a niche of a field: with `what:
    // Header` the enum shrank to `Conntrack`'s fields (a `Vec` and a `Box`) and the compiler
    // moved the variant into the `Vec`'s capacity, which cost `Packet::parse` 70 more
    // instructions per packet (docs/benchmarks.md, "Code shaped for speed").
    #[test]
    fn parse_error_variant_is_a_tag_not_a_vec_capacity_niche() {
        let conntrack_fields = std::mem::size_of::<(Vec<u16>, Box<ParseError>)>();
        assert!(
            std::mem::size_of::<ParseError>() > conntrack_fields,
            "ParseError is {} bytes, no more than Conntrack's fields ({conntrack_fields}): \
             its variant is niche-encoded",
            std::mem::size_of::<ParseError>()
        );
        // `Result<(), ParseError>` (`check_value`'s) still fits in the tag's spare values.
        assert_eq!(
            std::mem::size_of::<Result<(), ParseError>>(),
            std::mem::size_of::<ParseError>()
        );
    }

    #[test]
    fn parse_errors_name_the_attribute_and_lengths() {
        let e = ParseError::AttributeSize {
            attr: PacketAttr::Mark,
            nested: None,
            needed: 4,
            found: 2,
        };
        assert_eq!(
            e.to_string(),
            "attribute NFULA_MARK (2) has a 2-byte value, needs 4"
        );
        let e = ParseError::AttributeLength {
            kind: 9,
            declared: 300,
            available: 12,
        };
        assert_eq!(
            e.to_string(),
            "attribute NFULA_PAYLOAD (9) declares 300 bytes but 12 are left (at least 4 are needed)"
        );
        let e = ParseError::AttributeLength {
            kind: 99,
            declared: 2,
            available: 12,
        };
        assert!(e
            .to_string()
            .starts_with("attribute type 99 declares 2 bytes"));
        let e = ParseError::AttributeSize {
            attr: PacketAttr::Vlan,
            nested: Some(2),
            needed: 2,
            found: 1,
        };
        assert_eq!(
            e.to_string(),
            "attribute NFULA_VLAN (20), nested type 2, has a 1-byte value, needs 2"
        );
        let e = ParseError::Nested {
            attr: PacketAttr::Vlan,
            source: Box::new(ParseError::AttributeLength {
                kind: 2,
                declared: 9,
                available: 4,
            }),
        };
        assert_eq!(
            e.to_string(),
            "inside attribute NFULA_VLAN (20): nested attribute type 2 declares 9 bytes \
             but 4 are left (at least 4 are needed)"
        );
    }

    #[test]
    fn permission_error_says_what_to_do() {
        let e = Error::PermissionDenied {
            request: Request::Bind,
            group: Some(5),
        };
        let text = e.to_string();
        assert!(text.starts_with("not permitted to bind group 5: NFLOG needs CAP_NET_ADMIN"));
        assert!(text.contains("setcap cap_net_admin+ep"));
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn invalid_config_says_what_is_accepted() {
        let e = Error::InvalidConfig {
            setting: Setting::Nlbufsiz,
            value: 1,
            accepted: "4096..=131072 bytes".into(),
        };
        assert_eq!(
            e.to_string(),
            "nlbufsiz = 1 would be ignored by the kernel; use 4096..=131072 bytes"
        );
    }

    fn namespace_error(netns: &str, errno: i32) -> String {
        Error::Namespace {
            netns: netns.into(),
            source: io::Error::from_raw_os_error(errno),
        }
        .to_string()
    }

    #[test]
    fn namespace_errors_say_what_to_do() {
        assert_eq!(
            namespace_error("blue", libc::ENOENT),
            "no network namespace \"blue\" (/run/netns/blue): create it with \
             `ip netns add blue`"
        );
        assert_eq!(
            namespace_error("pid:99999", libc::ENOENT),
            "no network namespace \"pid:99999\" (/proc/99999/ns/net): is process 99999 running?"
        );
        assert_eq!(
            namespace_error("/tmp/ns", libc::ENOENT),
            "no network namespace /tmp/ns: no such file"
        );
        assert_eq!(
            namespace_error("blue", libc::EPERM),
            "not permitted to enter network namespace \"blue\" (/run/netns/blue): needs \
             CAP_SYS_ADMIN (run as root)"
        );
        assert_eq!(
            namespace_error("/etc/hostname", libc::EINVAL),
            "/etc/hostname is not a network namespace: the kernel refused to enter it (setns)"
        );
        let e = Error::Namespace {
            netns: "blue".into(),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn truncated_names_its_header_as_a_value_callers_match() {
        let e = ParseError::Truncated {
            what: Header::Nfgenmsg,
            needed: 4,
            available: 2,
        };
        assert!(matches!(
            e,
            ParseError::Truncated {
                what: Header::Nfgenmsg,
                ..
            }
        ));
        assert_eq!(e.to_string(), "truncated nfgenmsg: needs 4 bytes, 2 left");
        for (header, text) in [
            (Header::NetlinkMessage, "netlink message header"),
            (Header::NetlinkError, "netlink error message"),
            (Header::Nfgenmsg, "nfgenmsg"),
            (Header::Attribute, "attribute header"),
            (Header::Value, "value"),
        ] {
            assert_eq!(header.to_string(), text);
        }
    }

    #[test]
    fn invalid_config_names_its_setting_as_a_value_callers_match() {
        let e = Error::InvalidConfig {
            setting: Setting::FlushTimeout,
            value: 7,
            accepted: "at most 5 ms".into(),
        };
        assert!(matches!(
            e,
            Error::InvalidConfig {
                setting: Setting::FlushTimeout,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "flush timeout (ms) = 7 would be ignored by the kernel; use at most 5 ms"
        );
        assert_eq!(Setting::Nlbufsiz.to_string(), "nlbufsiz");
    }

    /// The ground floor: errors may name what `wire` defines (and the namespace value beside
    /// them), never what the layers above define, so that no import cycle runs through here.
    #[test]
    fn error_module_imports_nothing_above_wire() {
        let source = include_str!("error.rs");
        let (code, _) = source.split_once("#[cfg(test)]").unwrap();
        for (n, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue; // Documentation may link anywhere.
            }
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                assert!(
                    ["wire::", "namespace::"]
                        .iter()
                        .any(|below| rest.starts_with(below)),
                    "error.rs:{}: {line}",
                    n + 1
                );
            }
        }
    }
}
