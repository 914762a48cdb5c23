//! Naming interfaces in output: the trait every format takes, and its two implementations.

use crate::socket::names::InterfaceNames;

/// Something that names interfaces by index.
pub trait ResolveInterface {
    /// The name of interface `index`, if it exists.
    fn interface_name(&mut self, index: u32) -> Option<&str>;
}

/// Names nothing: for numeric output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Numeric;

impl ResolveInterface for Numeric {
    fn interface_name(&mut self, _index: u32) -> Option<&str> {
        None
    }
}

/// Names interfaces in the network namespace of the socket [`InterfaceNames`] was made for.
impl ResolveInterface for InterfaceNames {
    fn interface_name(&mut self, index: u32) -> Option<&str> {
        InterfaceNames::interface_name(self, index)
    }
}
