//! `BlockCache`: parsed blocks shared by every table of a database — data
//! blocks, and formats 2 and 3's index and filter partitions — bounded by bytes,
//! evicted by CLOCK (a cheap LRU approximation: a hit only sets a count, so
//! a lookup reorders nothing and needs only a read lock: readers of one
//! shard do not wait for each other, only for an insert).
//!
//! Index and filter partitions outlive data blocks: a hit gives them more
//! chances against the clock hand. Every point read goes through a filter
//! per level and an index partition, while random reads over data far larger
//! than the cache rarely hit the same data block twice; evicted like data,
//! the partitions were read again and again (at 10M keys and a 64 MiB cache,
//! 44% of lookups missed). They are a few percent of the data, so they fit,
//! up to a point: at 100M keys they outgrow a 64 MiB cache (7% of lookups
//! hit), so a cache can also keep them in a pool of their own
//! (`BlockCache::with_partitions`, `Options::partition_cache_bytes`), bounded
//! apart from the data blocks — as RocksDB keeps its index and filter blocks
//! outside its block cache by default, but bounded.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use hashbrown::HashMap;

use crate::sync::RwLock;

use super::block::Block;
use super::bloom::BloomFilter;
use super::index::IndexBlock;

/// A parsed block of any kind.
#[derive(Clone)]
pub(crate) enum Cached {
    Data(Arc<Block>),
    Index(Arc<IndexBlock>),
    Filter(Arc<BloomFilter>),
}

impl Cached {
    pub fn data(self) -> Option<Arc<Block>> {
        match self {
            Cached::Data(block) => Some(block),
            _ => None,
        }
    }

    pub fn index(self) -> Option<Arc<IndexBlock>> {
        match self {
            Cached::Index(index) => Some(index),
            _ => None,
        }
    }

    pub fn filter(self) -> Option<Arc<BloomFilter>> {
        match self {
            Cached::Filter(filter) => Some(filter),
            _ => None,
        }
    }

    /// The pool it belongs to.
    fn pool(&self) -> Pool {
        match self {
            Cached::Data(_) => Pool::Data,
            Cached::Index(_) | Cached::Filter(_) => Pool::Partitions,
        }
    }

    /// Sweeps of the clock hand a hit buys: partitions are consulted by every
    /// read near their keys, a data block only by reads of its own keys.
    fn chances(&self) -> u8 {
        match self {
            Cached::Data(_) => 1,
            Cached::Index(_) | Cached::Filter(_) => 3,
        }
    }

    /// Bytes it holds, charged against the capacity.
    fn size_bytes(&self) -> usize {
        match self {
            Cached::Data(block) => block.size_bytes(),
            Cached::Index(index) => index.size_bytes(),
            Cached::Filter(filter) => filter.size_bytes(),
        }
    }
}

/// A block's identity: (table number, block offset). Table numbers are never
/// reused, so a key never names two different blocks.
type CacheKey = (u64, u64);

/// Bytes of capacity per shard, at least: a cache of 64 MiB has 16 shards, a
/// small one (the teaching preset's, tests') a single shard.
const SHARD_BYTES_MIN: usize = 1 << 20;
const SHARDS_MAX: usize = 16;

/// One slot of the clock.
struct Slot {
    key: CacheKey,
    block: Cached,
    /// Set by every hit (to `Cached::chances`, under the read lock); the
    /// clock hand takes one each time it passes (under the write lock) and
    /// evicts the slot at zero.
    chances: AtomicU8,
}

#[derive(Default)]
struct ClockState {
    map: HashMap<CacheKey, usize>,
    /// `None` marks a free slot (listed in `free`).
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    hand: usize,
    used_bytes: usize,
}

/// One shard: its clock, and its counters outside the lock.
struct Shard {
    state: RwLock<ClockState>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Shard {
    fn new() -> Self {
        Shard { state: RwLock::new(ClockState::default()), hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }
}

/// Which pool of the cache a block belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pool {
    /// Data blocks.
    Data,
    /// Index and filter partitions (formats 2 and 3).
    Partitions,
}

/// Cache of parsed blocks shared by all tables, bounded in bytes: one pool
/// for everything, or (`with_partitions`) a second pool of its own for the
/// index and filter partitions, so that data blocks read once never push
/// out the partitions every get consults.
pub struct BlockCache {
    data: Clock,
    /// `None`: partitions live in `data` beside the data blocks.
    partitions: Option<Clock>,
}

impl BlockCache {
    /// A cache holding up to `capacity_bytes` of blocks of every kind (0: caches nothing).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn new(capacity_bytes: usize) -> Self {
        BlockCache { data: Clock::new(capacity_bytes), partitions: None }
    }

    /// A cache of up to `data_bytes` of data blocks and, apart, up to
    /// `partition_bytes` of index and filter partitions; with
    /// `partition_bytes` 0, one pool of `data_bytes` for both (`new`).
    pub fn with_partitions(data_bytes: usize, partition_bytes: usize) -> Self {
        let partitions = (partition_bytes > 0).then(|| Clock::new(partition_bytes));
        BlockCache { data: Clock::new(data_bytes), partitions }
    }

    fn pool(&self, pool: Pool) -> &Clock {
        match (pool, &self.partitions) {
            (Pool::Partitions, Some(partitions)) => partitions,
            _ => &self.data,
        }
    }

    /// Lookups of the data pool (with partitions too, when they share it)
    /// that found their block.
    pub fn hits(&self) -> u64 {
        self.data.hits()
    }

    /// Lookups of the data pool that did not (each is followed by a read from storage).
    pub fn misses(&self) -> u64 {
        self.data.misses()
    }

    pub fn capacity_bytes(&self) -> usize {
        self.data.capacity_bytes
    }

    /// Bytes of blocks the data pool holds now (never more than its capacity).
    pub fn used_bytes(&self) -> usize {
        self.data.used_bytes()
    }

    /// The partition pool's hits, misses, bytes held and capacity; all 0
    /// when partitions share the data pool.
    pub fn partition_figures(&self) -> [u64; 4] {
        self.partitions.as_ref().map_or([0; 4], |clock| {
            [clock.hits(), clock.misses(), clock.used_bytes() as u64, clock.capacity_bytes as u64]
        })
    }

    /// Blocks held now, in both pools.
    #[cfg(test)]
    pub fn block_count(&self) -> usize {
        self.data.block_count() + self.partitions.as_ref().map_or(0, Clock::block_count)
    }

    /// Whether a block is cached in `pool`, without counting a hit.
    #[cfg(test)]
    fn holds(&self, pool: Pool, table: u64, offset: u64) -> bool {
        let key = (table, offset);
        self.pool(pool).shard(key).state.read().map.contains_key(&key)
    }

    /// Drops every block of table `table` (for example once its file is
    /// deleted), instead of waiting for the clock to age them out.
    pub fn forget_table(&self, table: u64) {
        self.data.forget_table(table);
        if let Some(partitions) = &self.partitions {
            partitions.forget_table(table);
        }
    }

    /// The block cached in `pool`, counting a hit or a miss.
    pub(crate) fn lookup(&self, pool: Pool, table: u64, offset: u64) -> Option<Cached> {
        self.pool(pool).lookup((table, offset))
    }

    /// Caches a block just read in its pool, evicting others of its shard
    /// to stay within capacity. A block larger than a shard is not cached.
    pub(crate) fn insert(&self, table: u64, offset: u64, block: Cached) {
        self.pool(block.pool()).insert((table, offset), block);
    }
}

/// One pool: blocks bounded in bytes, split into shards by key, each a CLOCK
/// of its own under its own lock, so readers and the background thread
/// rarely wait for one another.
struct Clock {
    capacity_bytes: usize,
    shards: Vec<Shard>,
}

impl Clock {
    fn new(capacity_bytes: usize) -> Self {
        let count = (capacity_bytes / SHARD_BYTES_MIN).clamp(1, SHARDS_MAX);
        Clock { capacity_bytes, shards: (0..count).map(|_| Shard::new()).collect() }
    }

    fn shard_capacity(&self) -> usize {
        self.capacity_bytes / self.shards.len()
    }

    fn shard(&self, key: CacheKey) -> &Shard {
        // Consecutive blocks of a table land in different shards.
        let mixed = (key.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (key.1 >> 6)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let index = (mixed >> 32) as usize % self.shards.len();
        self.shards.get(index).unwrap_or(&self.shards[0])
    }

    fn sum(&self, field: impl Fn(&Shard) -> u64) -> u64 {
        self.shards.iter().map(field).sum()
    }

    fn hits(&self) -> u64 {
        self.sum(|s| s.hits.load(Ordering::Relaxed))
    }

    fn misses(&self) -> u64 {
        self.sum(|s| s.misses.load(Ordering::Relaxed))
    }

    fn used_bytes(&self) -> usize {
        self.sum(|s| s.state.read().used_bytes as u64) as usize
    }

    #[cfg(test)]
    fn block_count(&self) -> usize {
        self.sum(|s| s.state.read().map.len() as u64) as usize
    }

    fn forget_table(&self, table: u64) {
        for shard in &self.shards {
            let mut state = shard.state.write();
            let keys: Vec<CacheKey> = state.map.keys().filter(|key| key.0 == table).copied().collect();
            for key in keys {
                state.remove(key);
            }
        }
    }

    fn lookup(&self, key: CacheKey) -> Option<Cached> {
        let shard = self.shard(key);
        let state = shard.state.read();
        let found = state.map.get(&key).and_then(|&slot| state.slots.get(slot)?.as_ref());
        match found {
            Some(slot) => {
                // A hot block's count is usually full already: leave its
                // cache line clean for the other readers.
                let chances = slot.block.chances();
                if slot.chances.load(Ordering::Relaxed) != chances {
                    slot.chances.store(chances, Ordering::Relaxed);
                }
                let block = slot.block.clone();
                drop(state);
                shard.hits.fetch_add(1, Ordering::Relaxed);
                Some(block)
            }
            None => {
                drop(state);
                shard.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn insert(&self, key: CacheKey, block: Cached) {
        let charge = block.size_bytes();
        let capacity = self.shard_capacity();
        if charge > capacity {
            return;
        }
        let mut state = self.shard(key).state.write();
        if state.map.contains_key(&key) {
            return; // another reader cached it first; keep one copy
        }
        while state.used_bytes + charge > capacity {
            state.evict_one();
        }
        // A partition just read will be read again soon (every read near
        // its keys), a data block likely not: only the first starts with a chance.
        let chances = AtomicU8::new(block.chances() / 2);
        let slot = Slot { key, block, chances };
        let index = match state.free.pop() {
            Some(index) => {
                state.slots[index] = Some(slot);
                index
            }
            None => {
                state.slots.push(Some(slot));
                state.slots.len() - 1
            }
        };
        state.map.insert(key, index);
        state.used_bytes += charge;
        debug_assert!(state.used_bytes <= capacity);
    }
}

impl ClockState {
    /// Advances the hand to the first block without chances left, taking one
    /// from each it passes, and evicts it. Called only while `used_bytes > 0`,
    /// so an occupied slot exists and four sweeps at most find a victim.
    fn evict_one(&mut self) {
        assert!(self.used_bytes > 0 && !self.slots.is_empty(), "evicting from an empty cache");
        loop {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let hand = self.hand;
            self.hand += 1;
            if let Some(slot) = self.slots[hand].as_mut() {
                let chances = slot.chances.get_mut();
                if *chances > 0 {
                    *chances -= 1;
                } else {
                    let key = slot.key;
                    self.remove(key);
                    return;
                }
            }
        }
    }

    fn remove(&mut self, key: CacheKey) {
        if let Some(index) = self.map.remove(&key) {
            if let Some(slot) = self.slots[index].take() {
                self.used_bytes -= slot.block.size_bytes();
            }
            self.free.push(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{pack_trailer, ValueKind};
    use crate::sstable::block::BlockBuilder;

    /// A parsed block of about `value_len` bytes.
    fn block(value_len: usize) -> Arc<Block> {
        let mut builder = BlockBuilder::new(1);
        builder.add(b"k", pack_trailer(1, ValueKind::Put), &alloc::vec![7u8; value_len]);
        let bytes = builder.finish().clone();
        Arc::new(Block::parse(bytes, 1, Arc::from("t.sst"), 0).unwrap())
    }

    /// The cache never holds more bytes than its capacity, counts hits and
    /// misses, and keeps a recently hit block over an unreferenced one.
    #[test]
    fn bounded_by_capacity_and_counts_hits() {
        let size = block(100).size_bytes();
        let cache = BlockCache::new(size * 3);
        for offset in 0..3u64 {
            assert!(cache.lookup(Pool::Data, 1, offset).is_none());
            cache.insert(1, offset, Cached::Data(block(100)));
        }
        assert_eq!(cache.used_bytes(), size * 3);
        assert!(cache.lookup(Pool::Data, 1, 0).is_some());
        assert_eq!((cache.hits(), cache.misses()), (1, 3));
        // Block 0 was just hit: inserting a fourth evicts an unreferenced one.
        cache.insert(1, 3, Cached::Data(block(100)));
        assert!(cache.used_bytes() <= cache.capacity_bytes());
        assert_eq!(cache.block_count(), 3);
        assert!(cache.lookup(Pool::Data, 1, 0).is_some(), "the referenced block survived");
        for offset in 10..200u64 {
            cache.insert(2, offset, Cached::Data(block((offset % 7) as usize * 30)));
            assert!(cache.used_bytes() <= cache.capacity_bytes());
        }
        cache.forget_table(2);
        assert!((10..200).all(|offset| cache.lookup(Pool::Data, 2, offset).is_none()));
    }

    /// A filter partition of about the size of `block(100)`.
    fn filter() -> Arc<BloomFilter> {
        let mut builder = super::super::bloom::BloomBuilder::default();
        for i in 0..100u32 {
            builder.add_key(&i.to_be_bytes());
        }
        Arc::new(BloomFilter::parse(builder.finish(10), "t.sst", 0).unwrap())
    }

    /// A stream of data blocks read once each (random reads over data far
    /// larger than the cache) evicts a data block hit as recently as a
    /// filter partition, but not the partition.
    #[test]
    fn partitions_outlive_data_blocks() {
        let size = block(100).size_bytes().max(filter().size_bytes());
        let cache = BlockCache::new(size * 8);
        cache.insert(1, 0, Cached::Filter(filter()));
        cache.insert(1, 1, Cached::Data(block(100)));
        assert!(cache.lookup(Pool::Partitions, 1, 0).is_some() && cache.lookup(Pool::Data, 1, 1).is_some());
        let mut offset = 2;
        while cache.holds(Pool::Data, 1, 1) {
            cache.insert(1, offset, Cached::Data(block(100)));
            assert!(cache.used_bytes() <= cache.capacity_bytes());
            offset += 1;
            assert!(offset < 100, "the data block hit once is evicted within two sweeps");
        }
        assert!(offset > 8, "the hit data block outlived the unreferenced ones ({offset})");
        assert!(cache.holds(Pool::Partitions, 1, 0), "the filter partition, hit as recently, stayed");
        // Without further hits it goes too: the priority is chances, not a pin.
        for offset in offset..offset + 60 {
            cache.insert(1, offset, Cached::Data(block(100)));
        }
        assert!(!cache.holds(Pool::Partitions, 1, 0), "an unused partition is evicted in the end");
    }

    /// With a pool of their own, partitions are never evicted by data
    /// blocks, each pool stays within its capacity, and each counts its own
    /// lookups.
    #[test]
    fn a_partition_pool_is_bounded_apart_from_data_blocks() {
        let size = block(100).size_bytes().max(filter().size_bytes());
        let cache = BlockCache::with_partitions(size * 4, size * 3);
        for offset in 0..3u64 {
            cache.insert(1, offset, Cached::Filter(filter()));
        }
        for offset in 100..400u64 {
            assert!(cache.lookup(Pool::Data, 1, offset).is_none());
            cache.insert(1, offset, Cached::Data(block(100)));
            assert!(cache.used_bytes() <= cache.capacity_bytes());
        }
        assert!((0..3).all(|offset| cache.holds(Pool::Partitions, 1, offset)), "data blocks evicted no partition");
        assert!(cache.lookup(Pool::Partitions, 1, 0).is_some() && cache.lookup(Pool::Partitions, 1, 9).is_none());
        let [hits, misses, used, capacity] = cache.partition_figures();
        assert_eq!((hits, misses, capacity), (1, 1, size as u64 * 3));
        assert!(used > 0 && used <= capacity);
        assert_eq!((cache.hits(), cache.misses()), (0, 300));
        // More partitions evict partitions, never a data block.
        let data_blocks = cache.data.block_count();
        for offset in 3..10u64 {
            cache.insert(1, offset, Cached::Index(index()));
            assert!(cache.partition_figures()[2] <= capacity);
        }
        assert!(cache.holds(Pool::Partitions, 1, 9));
        assert_eq!(cache.data.block_count(), data_blocks);
        cache.forget_table(1);
        assert_eq!(cache.block_count(), 0);
        // Capacity 0 for partitions: one pool, as `new`.
        let shared = BlockCache::with_partitions(size * 4, 0);
        shared.insert(1, 0, Cached::Filter(filter()));
        assert!(shared.lookup(Pool::Data, 1, 0).is_some());
        assert_eq!(shared.partition_figures(), [0; 4]);
    }

    /// An index partition of one entry.
    fn index() -> Arc<IndexBlock> {
        let mut builder = BlockBuilder::new(1);
        let handle = crate::sstable::BlockHandle { offset: 0, size: 10 };
        builder.add(b"k", pack_trailer(1, ValueKind::Put), &handle.to_bytes());
        let block = Block::parse(builder.finish().clone(), 1, Arc::from("t.sst"), 0).unwrap();
        Arc::new(IndexBlock::new(block, 1).unwrap())
    }

    /// Capacity 0 caches nothing; a block bigger than the cache is not cached.
    #[test]
    fn zero_capacity_and_oversized_blocks_are_not_cached() {
        let cache = BlockCache::new(0);
        cache.insert(1, 0, Cached::Data(block(10)));
        assert!(cache.lookup(Pool::Data, 1, 0).is_none());
        assert_eq!((cache.used_bytes(), cache.misses()), (0, 1));
        let cache = BlockCache::new(50);
        cache.insert(1, 0, Cached::Data(block(100)));
        assert_eq!(cache.block_count(), 0);
    }

    /// The cache is shareable across threads.
    #[test]
    fn cache_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<BlockCache>();
    }
}
