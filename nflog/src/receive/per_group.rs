//! A value per log group: the one shape of every per-group count.

/// A value for each log group seen, in the order groups were first seen.
///
/// Programs bind a handful of groups, so a short vector searched from the front beats a map;
/// this type is that vector, written once for the library's sequence tracking and for a
/// program's own counts (what it wrote, what it dropped, per group).
///
/// ```
/// let mut written = nflog::PerGroup::<u64>::new();
/// *written.entry(5) += 1;
/// *written.entry(6) += 2;
/// *written.entry(5) += 1;
/// assert_eq!(written.get(5), Some(&2));
/// assert_eq!(written.get(7), None);
/// assert_eq!(written.iter().collect::<Vec<_>>(), [(5, &2), (6, &2)]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PerGroup<T> {
    entries: Vec<(u16, T)>,
}

impl<T> Default for PerGroup<T> {
    fn default() -> PerGroup<T> {
        PerGroup::new()
    }
}

impl<T> PerGroup<T> {
    /// No group yet; allocates nothing.
    pub const fn new() -> PerGroup<T> {
        PerGroup {
            entries: Vec::new(),
        }
    }

    /// The value of `group`, if it was seen.
    #[inline]
    pub fn get(&self, group: u16) -> Option<&T> {
        self.entries
            .iter()
            .find(|(g, _)| *g == group)
            .map(|(_, value)| value)
    }

    /// The value of `group`, to change, if it was seen.
    #[inline]
    pub fn get_mut(&mut self, group: u16) -> Option<&mut T> {
        self.entries
            .iter_mut()
            .find(|(g, _)| *g == group)
            .map(|(_, value)| value)
    }

    /// The value of `group`, made by `first` when the group is new.
    #[inline]
    pub fn entry_or_insert_with(&mut self, group: u16, first: impl FnOnce() -> T) -> &mut T {
        // Perf: most programs bind one group, so the first entry is tried before the walk:
        // a program counting per group (the command's reader and writers) looks its group up
        // for every packet (figures: docs/benchmarks.md, "Code shaped for speed").
        let position = match self.entries.first() {
            Some((g, _)) if *g == group => 0,
            _ => match self.entries.iter().position(|(g, _)| *g == group) {
                Some(position) => position,
                None => {
                    self.entries.push((group, first()));
                    self.entries.len() - 1
                }
            },
        };
        &mut self.entries[position].1
    }

    /// The value of `group`, `T::default()` when the group is new.
    #[inline]
    pub fn entry(&mut self, group: u16) -> &mut T
    where
        T: Default,
    {
        self.entry_or_insert_with(group, T::default)
    }

    /// Each group and its value, in the order groups were first seen.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u16, &T)> + '_ {
        self.entries.iter().map(|(group, value)| (*group, value))
    }

    /// The number of groups seen.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no group was seen.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_the_order_they_were_first_seen_in() {
        let mut counts = PerGroup::<u64>::new();
        for group in [9, 3, 9, 0, 3, 9] {
            *counts.entry(group) += 1;
        }
        assert_eq!(
            counts.iter().collect::<Vec<_>>(),
            [(9, &3), (3, &2), (0, &1)]
        );
        assert_eq!(counts.len(), 3);
        assert_eq!(counts.get(0), Some(&1));
        assert_eq!(counts.get(1), None);
    }

    #[test]
    fn the_first_value_is_made_only_for_a_new_group() {
        let mut next = PerGroup::<u32>::default();
        assert!(next.is_empty());
        assert_eq!(*next.entry_or_insert_with(4, || 100), 100);
        assert_eq!(*next.entry_or_insert_with(4, || unreachable!()), 100);
        *next.get_mut(4).unwrap() = 7;
        assert_eq!(next.get(4), Some(&7));
        assert!(next.get_mut(5).is_none());
    }
}
