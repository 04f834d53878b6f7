//! A sequence in shared chunks: the one structure under the state's tables and conversations'
//! logs.
//!
//! The state is cloned on every action (Yew keeps the previous one alive), so a collection must
//! clone in far less than its size: cloning copies one pointer per chunk, and a write copies
//! only the chunk it lands in, and only while that chunk is still shared. The n-th item is found
//! by walking the chunk lengths, which is what a list that shows rows 4,000 to 4,040 needs.

use std::rc::Rc;

pub struct Chunks<T> {
    chunks: Vec<Rc<Vec<T>>>,
    len: usize,
}

impl<T> Clone for Chunks<T> {
    fn clone(&self) -> Self {
        Chunks {
            chunks: self.chunks.clone(),
            len: self.len,
        }
    }
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

/// Equality is identity of the chunks: what a render needs to know ("did this change?").
impl<T> PartialEq for Chunks<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.chunks.len() == other.chunks.len()
            && self
                .chunks
                .iter()
                .zip(&other.chunks)
                .all(|(a, b)| Rc::ptr_eq(a, b))
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Chunks<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Chunks<T> {
    /// Items in all the chunks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> &[Rc<Vec<T>>] {
        &self.chunks
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Where the `start`-th item is: the chunk that holds it, and its index in that chunk; past
    /// the end, `(chunks().len(), ...)`. The cost is the number of chunks skipped.
    fn locate(&self, start: usize) -> (usize, usize) {
        let (mut first, mut skip) = (0, start);
        while first < self.chunks.len() && skip >= self.chunks[first].len() {
            skip -= self.chunks[first].len();
            first += 1;
        }
        (first, skip)
    }

    /// The chunks from the one that holds item `start` on, each with the index in it to begin
    /// at.
    pub fn chunks_from(&self, start: usize) -> impl Iterator<Item = (&Rc<Vec<T>>, usize)> {
        let (first, skip) = self.locate(start);
        self.chunks[first..]
            .iter()
            .enumerate()
            .map(move |(i, c)| (c, if i == 0 { skip } else { 0 }))
    }

    /// The items from the `start`-th on.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> + '_ {
        self.chunks_from(start).flat_map(|(c, skip)| &c[skip..])
    }
}

impl<T: Clone> Chunks<T> {
    /// Changes chunk `at`, copying it first if it is shared; the count follows what `change`
    /// did. A chunk left empty is removed.
    pub fn edit<R>(&mut self, at: usize, change: impl FnOnce(&mut Vec<T>) -> R) -> R {
        let chunk = Rc::make_mut(&mut self.chunks[at]);
        let before = chunk.len();
        let out = change(chunk);
        self.len = self.len + chunk.len() - before;
        if chunk.is_empty() {
            self.chunks.remove(at);
        }
        out
    }

    /// Item `i` of chunk `at`, to change.
    pub fn get_mut(&mut self, at: usize, i: usize) -> &mut T {
        &mut Rc::make_mut(&mut self.chunks[at])[i]
    }

    /// Puts `items` in a chunk of its own at `at`.
    pub fn insert_chunk(&mut self, at: usize, items: Vec<T>) {
        self.len += items.len();
        self.chunks.insert(at, Rc::new(items));
    }

    /// Takes chunk `at` out.
    pub fn remove_chunk(&mut self, at: usize) -> Rc<Vec<T>> {
        let chunk = self.chunks.remove(at);
        self.len -= chunk.len();
        chunk
    }

    /// Appends `item`, in a new chunk when the last one holds `size` already.
    pub fn push(&mut self, item: T, size: usize) {
        if self.chunks.last().is_none_or(|c| c.len() >= size) {
            self.chunks.push(Rc::new(Vec::with_capacity(size)));
        }
        let last = self.chunks.len() - 1;
        self.edit(last, |c| c.push(item));
    }
}
