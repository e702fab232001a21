//! Stubs: what stays of an evicted record so that search still finds it and
//! the app can fetch it when online — its backend id, display name and score.
//!
//! Owns [`StubTable`]: one byte arena of `id ‖ name` plus a fixed-size entry
//! per stub and an [`IdIndex`] from backend id to entry. Removing a stub moves
//! the last entry into its place; the arena's garbage is reclaimed when it
//! outweighs the live bytes.
//!
//! Invariant: every entry's bytes lie inside the arena; the index maps each
//! stub's id to its entry and nothing else.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::budget::{grow_to, growth_bytes, vec_bytes};
use crate::index::{tag_of, IdIndex};

#[derive(Clone, Copy, Debug)]
struct Entry {
    start: u32,
    id_len: u16,
    name_len: u16,
    score: u32,
}

/// An evicted record's trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stub {
    /// Backend id.
    pub id: String,
    /// Display name (the person, or the company).
    pub name: String,
    /// Score when it was evicted.
    pub score: u32,
}

/// Longest name kept in a stub, in bytes (cut on a char boundary).
pub const MAX_STUB_NAME: usize = 120;

/// The stubs of evicted records.
#[derive(Default)]
pub struct StubTable {
    arena: Vec<u8>,
    entries: Vec<Entry>,
    index: IdIndex,
    garbage: usize,
}

fn cut(name: &str) -> &str {
    let mut n = name.len().min(MAX_STUB_NAME);
    while !name.is_char_boundary(n) {
        n -= 1;
    }
    &name[..n]
}

impl StubTable {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.arena) + vec_bytes(&self.entries) + self.index.heap_bytes()
    }

    /// Number of stubs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes that inserting a stub for (`id`, `name`) would add at most.
    pub fn insert_cost(&self, id: &str, name: &str) -> usize {
        growth_bytes(&self.arena, id.len() + cut(name).len())
            + growth_bytes(&self.entries, 1)
            + self.index.growth_bytes(1)
    }

    fn text(&self, e: Entry) -> (&str, &str) {
        let s = e.start as usize;
        let (id, name) =
            self.arena[s..s + e.id_len as usize + e.name_len as usize].split_at(e.id_len as usize);
        // Written from `&str`s cut on char boundaries.
        (
            core::str::from_utf8(id).unwrap_or(""),
            core::str::from_utf8(name).unwrap_or(""),
        )
    }

    fn position(&self, id: &str) -> Option<u32> {
        self.index.find(tag_of(id), |n| {
            self.entries
                .get(n as usize)
                .is_some_and(|&e| self.text(e).0 == id)
        })
    }

    /// True when `id` has a stub.
    pub fn contains(&self, id: &str) -> bool {
        self.position(id).is_some()
    }

    /// The stub of `id`.
    pub fn get(&self, id: &str) -> Option<Stub> {
        let e = self.entries[self.position(id)? as usize];
        let (id, name) = self.text(e);
        Some(Stub {
            id: id.into(),
            name: name.into(),
            score: e.score,
        })
    }

    /// Every stub, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = Stub> + '_ {
        self.entries.iter().map(|&e| {
            let (id, name) = self.text(e);
            Stub {
                id: id.into(),
                name: name.into(),
                score: e.score,
            }
        })
    }

    /// Adds (or replaces) the stub of `id`. Room must have been checked with
    /// [`StubTable::insert_cost`]; ids longer than 64 KiB are not stubbed.
    pub fn insert(&mut self, id: &str, name: &str, score: u32) {
        let name = cut(name);
        if id.len() > usize::from(u16::MAX) {
            return;
        }
        self.remove(id);
        grow_to(&mut self.arena, id.len() + name.len());
        grow_to(&mut self.entries, 1);
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(id.as_bytes());
        self.arena.extend_from_slice(name.as_bytes());
        self.entries.push(Entry {
            start,
            id_len: id.len() as u16,
            name_len: name.len() as u16,
            score,
        });
        self.index
            .insert(tag_of(id), (self.entries.len() - 1) as u32);
    }

    /// Removes the stub of `id`; true if there was one.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(n) = self.position(id) else {
            return false;
        };
        let e = self.entries[n as usize];
        self.index.remove(tag_of(id), n);
        let last = (self.entries.len() - 1) as u32;
        if n != last {
            let moved = self.entries[last as usize];
            let moved_tag = tag_of(self.text(moved).0);
            self.index.remove(moved_tag, last);
            self.index.insert(moved_tag, n);
        }
        self.entries.swap_remove(n as usize);
        self.garbage += e.id_len as usize + e.name_len as usize;
        if self.garbage > self.arena.len() / 2 {
            self.repack();
        }
        true
    }

    /// The stubs whose id has tag `tag`, as (id, name, score).
    pub fn with_tag(&self, tag: u32) -> Vec<(String, String, u32)> {
        let mut out = Vec::new();
        self.index.find(tag, |n| {
            if let Some(&e) = self.entries.get(n as usize) {
                let (id, name) = self.text(e);
                out.push((id.into(), name.into(), e.score));
            }
            false
        });
        out
    }

    /// Drops the lowest-scoring stubs until about `bytes` would be freed,
    /// less what dropping each costs elsewhere (`cost_of(name)`: its search
    /// postings), then rebuilds the table at its new size so the memory
    /// really goes back. Stubs are the first thing a full store gives up.
    /// Returns the (id, name) of those that went.
    pub fn shed(&mut self, bytes: usize, cost_of: impl Fn(&str) -> usize) -> Vec<(String, String)> {
        // (score, entry) packed in a u64 sorts as the pair would: the u64
        // sort is the one search uses, not another copy of std's sort.
        let mut order: Vec<u64> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| u64::from(e.score) << 32 | i as u64)
            .collect();
        order.sort_unstable();
        let per_entry = core::mem::size_of::<Entry>() + 14; // entry + index slot share
        let mut freed = 0;
        let mut dropped = vec![false; self.entries.len()];
        for packed in order {
            if freed >= bytes {
                break;
            }
            let i = packed as u32 as usize;
            let e = self.entries[i];
            freed += (e.id_len as usize + e.name_len as usize + per_entry)
                .saturating_sub(cost_of(self.text(e).1));
            dropped[i] = true;
        }
        let with_mark = || self.entries.iter().copied().zip(dropped.iter().copied());
        let gone: Vec<(String, String)> = with_mark()
            .filter(|&(_, d)| d)
            .map(|(e, _)| {
                let (id, name) = self.text(e);
                (id.into(), name.into())
            })
            .collect();
        let mut keep = StubTable::default();
        let survivors = self.entries.len() - gone.len();
        let text: usize = with_mark()
            .filter(|&(_, d)| !d)
            .map(|(e, _)| e.id_len as usize + e.name_len as usize)
            .sum();
        keep.arena.reserve_exact(text);
        keep.entries.reserve_exact(survivors);
        keep.index.reserve(survivors);
        for (e, _) in with_mark().filter(|&(_, d)| !d) {
            let (id, name) = self.text(e);
            keep.insert(id, name, e.score);
        }
        keep.arena.shrink_to_fit();
        *self = keep;
        gone
    }

    /// Drops the arena's garbage (never grows memory: the new arena is smaller).
    fn repack(&mut self) {
        let mut arena = Vec::new();
        arena.reserve_exact(self.arena.len() - self.garbage);
        for e in &mut self.entries {
            let s = e.start as usize;
            let end = s + e.id_len as usize + e.name_len as usize;
            e.start = arena.len() as u32;
            arena.extend_from_slice(&self.arena[s..end]);
        }
        self.arena = arena;
        self.garbage = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replace_remove() {
        let mut t = StubTable::default();
        for i in 0..100u32 {
            t.insert(
                &alloc::format!("ID-{i}"),
                &alloc::format!("Åsa Ström {i}"),
                i,
            );
        }
        t.insert("ID-7", "renamed", 70);
        assert_eq!(t.len(), 100);
        assert_eq!(
            t.get("ID-7"),
            Some(Stub {
                id: "ID-7".into(),
                name: "renamed".into(),
                score: 70
            })
        );
        for i in (0..100u32).step_by(2) {
            assert!(t.remove(&alloc::format!("ID-{i}")));
        }
        assert!(!t.remove("ID-0"));
        assert_eq!(t.len(), 50);
        for i in 0..100u32 {
            let got = t.get(&alloc::format!("ID-{i}"));
            assert_eq!(got.is_some(), i % 2 == 1, "{i}");
        }
        assert_eq!(t.get("ID-99").unwrap().name, "Åsa Ström 99");
        // Shedding drops the lowest scores and gives memory back.
        let before = t.heap_bytes();
        let gone = t.shed(400, |_| 0);
        assert!(gone
            .iter()
            .any(|(id, name)| id == "ID-1" && name == "Åsa Ström 1"));
        let gone = gone.len();
        assert!(
            gone > 0 && t.heap_bytes() < before,
            "{gone} {before} {}",
            t.heap_bytes()
        );
        assert!(t.get("ID-1").is_none() && t.get("ID-99").is_some());
        assert_eq!(t.len(), 50 - gone);
        let long = "深".repeat(100);
        t.insert("L", &long, 1);
        assert!(t.get("L").unwrap().name.len() <= MAX_STUB_NAME);
    }
}
