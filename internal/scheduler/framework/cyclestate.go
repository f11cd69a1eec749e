package framework

import "fmt"

// StateData is a plugin's per-cycle data. Clone returns a copy that can be changed without
// affecting the original (data never changed after PreFilter may return itself).
type StateData interface {
	Clone() StateData
}

// CycleState carries what plugins compute once per cycle (PreFilter, PreScore) to their
// per-node calls. It is written only from the scheduling goroutine before the parallel
// phases and only read during them, so it needs no lock; preemption and nominated-pod
// filtering work on clones.
//
// Entries are few (one or two per plugin) and read for every node, so they live in a slice
// searched linearly: with constant keys the comparison is a pointer check.
type CycleState struct {
	keys   []string
	values []StateData
	// SkipFilter and SkipScore name the plugins whose PreFilter or PreScore returned Skip.
	SkipFilter map[string]bool
	SkipScore  map[string]bool

	// filters and scores are the plugins to run this cycle (the skipped ones left out).
	filters []FilterPlugin
	scores  []int
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{keys: make([]string, 0, 12), values: make([]StateData, 0, 12)}
}

// Write stores data under key.
func (c *CycleState) Write(key string, data StateData) {
	for i, k := range c.keys {
		if k == key {
			c.values[i] = data
			return
		}
	}
	c.keys = append(c.keys, key)
	c.values = append(c.values, data)
}

// Read returns the data under key.
func (c *CycleState) Read(key string) (StateData, error) {
	for i, k := range c.keys {
		if k == key {
			return c.values[i], nil
		}
	}
	return nil, fmt.Errorf("%q not found in cycle state", key)
}

// Clone deep-copies the state through each datum's Clone.
func (c *CycleState) Clone() *CycleState {
	if c == nil {
		return nil
	}
	out := &CycleState{
		keys: append([]string(nil), c.keys...), values: make([]StateData, len(c.values)),
		SkipFilter: c.SkipFilter, SkipScore: c.SkipScore, filters: c.filters, scores: c.scores,
	}
	for i, v := range c.values {
		out.values[i] = v.Clone()
	}
	return out
}

// ReadState reads key and asserts its type.
func ReadState[T StateData](c *CycleState, key string) (T, error) {
	var zero T
	d, err := c.Read(key)
	if err != nil {
		return zero, err
	}
	t, ok := d.(T)
	if !ok {
		return zero, fmt.Errorf("cycle state %q has type %T", key, d)
	}
	return t, nil
}
