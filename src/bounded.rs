//! A map that remembers at most a fixed number of entries, for guesses and
//! caches that live in the process: past its bound, each new key makes it
//! forget one other (any one). What it forgets only costs the work it
//! saved, once. Which one it forgets follows the hash order, not age, so
//! with more keys in use than it holds, some keep their place and the rest
//! come and go: fewer hits, never a wrong one.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub struct BoundedMap<K, V> {
    max: usize,
    entries: Mutex<HashMap<K, V>>,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    pub fn new(max: usize) -> Self {
        Self { max, entries: Mutex::new(HashMap::new()) }
    }

    /// What `read` makes of the entry under `key`, if there is one. The map
    /// is locked meanwhile, so `read` should only look and clone.
    pub fn read<R>(&self, key: &K, read: impl FnOnce(&V) -> Option<R>) -> Option<R> {
        self.lock().get(key).and_then(read)
    }

    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.lock();
        if entries.len() >= self.max
            && !entries.contains_key(&key)
            && let Some(forgotten) = entries.keys().next().cloned()
        {
            entries.remove(&forgotten);
        }
        entries.insert(key, value);
    }

    pub fn remove(&self, key: &K) {
        self.lock().remove(key);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // Every change is one call on the map, which a panic cannot leave half
    // made: a poisoned lock still holds a consistent map.
    fn lock(&self) -> MutexGuard<'_, HashMap<K, V>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_its_bound_it_forgets_one_entry_per_new_key() {
        let map = BoundedMap::new(3);
        for i in 0..3 {
            map.insert(i, i * 10);
        }
        map.insert(1, 11);
        assert_eq!(map.len(), 3, "a known key is replaced, nothing forgotten");
        map.insert(7, 70);
        assert_eq!(map.len(), 3);
        assert_eq!(map.read(&7, |v| Some(*v)), Some(70));
        map.remove(&7);
        assert_eq!(map.read(&7, |v| Some(*v)), None);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn read_sees_only_what_its_closure_accepts() {
        let map = BoundedMap::new(2);
        map.insert("ann", (1, "card"));
        assert_eq!(map.read(&"ann", |(version, card)| (*version == 1).then_some(*card)), Some("card"));
        assert_eq!(map.read(&"ann", |(version, card)| (*version == 2).then_some(*card)), None);
    }
}
