package framework

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
)

// ParallelizeUntil runs fn(i) for i in [0, pieces) on up to workers goroutines (the caller
// is one of them), handing out chunks of indexes; it stops handing out work once ctx is done.
func ParallelizeUntil(ctx context.Context, workers, pieces int, fn func(i int)) {
	if pieces <= 0 {
		return
	}
	chunk := max(1, min(int(math.Sqrt(float64(pieces))), pieces/(max(workers, 1)*4)+1))
	chunks := (pieces + chunk - 1) / chunk
	workers = min(workers, chunks)
	if workers <= 1 {
		for i := 0; i < pieces; i++ {
			if i%chunk == 0 && ctx.Err() != nil {
				return
			}
			fn(i)
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks || ctx.Err() != nil {
				return
			}
			end := min((c+1)*chunk, pieces)
			for i := c * chunk; i < end; i++ {
				fn(i)
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}
