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
type CycleState struct {
	data map[string]StateData
	// SkipFilter and SkipScore name the plugins whose PreFilter or PreScore returned Skip.
	SkipFilter map[string]bool
	SkipScore  map[string]bool
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: make(map[string]StateData, 8)}
}

// Write stores data under key.
func (c *CycleState) Write(key string, data StateData) { c.data[key] = data }

// Read returns the data under key.
func (c *CycleState) Read(key string) (StateData, error) {
	if d, ok := c.data[key]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("%q not found in cycle state", key)
}

// Clone deep-copies the state through each datum's Clone.
func (c *CycleState) Clone() *CycleState {
	if c == nil {
		return nil
	}
	out := &CycleState{data: make(map[string]StateData, len(c.data)), SkipFilter: c.SkipFilter, SkipScore: c.SkipScore}
	for k, v := range c.data {
		out.data[k] = v.Clone()
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
