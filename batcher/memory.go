package batcher

import (
	"container/heap"

	"github.com/purge-worker/purge-worker/intent"
)

// memory holds the keys of successful calls with the highest horizon each
// was purged under, at most limit of them. When full, the lowest horizon
// goes first: it serves the fewest messages still to come. Forgetting early
// costs calls, never correctness.
type memory struct {
	limit int
	memos memoHeap // min-heap by horizon
}

// memo is one remembered key of one space.
type memo struct {
	sp      *space
	key     intent.Key
	horizon uint64
	idx     int
}

// remember records that a call with key k in sp succeeded with horizon h.
func (m *memory) remember(sp *space, k intent.Key, h uint64) {
	if m.limit == 0 {
		return
	}
	if x := sp.memo[k]; x != nil {
		if h > x.horizon {
			x.horizon = h
			heap.Fix(&m.memos, x.idx)
		}
		return
	}
	if len(m.memos) >= m.limit {
		if m.memos[0].horizon >= h {
			return // every remembered key serves at least as much
		}
		m.drop(heap.Pop(&m.memos).(*memo))
	}
	if sp.memo == nil {
		sp.memo = make(map[intent.Key]*memo)
	}
	x := &memo{sp: sp, key: k, horizon: h}
	sp.memo[k] = x
	sp.memoCount[k.Kind]++
	heap.Push(&m.memos, x)
}

// forgetBelow drops every key remembered with a horizon below seq.
func (m *memory) forgetBelow(seq uint64) {
	for len(m.memos) > 0 && m.memos[0].horizon < seq {
		m.drop(heap.Pop(&m.memos).(*memo))
	}
}

func (m *memory) clear() {
	for _, x := range m.memos {
		m.drop(x)
	}
	m.memos = nil
}

func (m *memory) drop(x *memo) {
	delete(x.sp.memo, x.key)
	x.sp.memoCount[x.key.Kind]--
	if len(x.sp.memo) == 0 {
		x.sp.memo = nil // let a burst's map go
	}
}

func (m *memory) size() int { return len(m.memos) }

type memoHeap []*memo

func (h memoHeap) Len() int           { return len(h) }
func (h memoHeap) Less(i, j int) bool { return h[i].horizon < h[j].horizon }
func (h memoHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *memoHeap) Push(x any) {
	m := x.(*memo)
	m.idx = len(*h)
	*h = append(*h, m)
}
func (h *memoHeap) Pop() any {
	old := *h
	n := len(old)
	m := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return m
}
