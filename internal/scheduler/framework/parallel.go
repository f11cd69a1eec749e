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
	ParallelizeWorkers(ctx, workers, pieces, func(_, i int) { fn(i) })
}

// Workers is how many goroutines ParallelizeWorkers uses for pieces: worker indexes passed
// to fn are below it.
func Workers(workers, pieces int) int {
	if pieces <= 0 {
		return 0
	}
	chunk := max(1, min(int(math.Sqrt(float64(pieces))), pieces/(max(workers, 1)*4)+1))
	return max(1, min(workers, (pieces+chunk-1)/chunk))
}

// ParallelizeWorkers is ParallelizeUntil telling fn which worker runs it, so workers can
// accumulate into their own slots without locks.
func ParallelizeWorkers(ctx context.Context, workers, pieces int, fn func(worker, i int)) {
	if pieces <= 0 {
		return
	}
	chunk := max(1, min(int(math.Sqrt(float64(pieces))), pieces/(max(workers, 1)*4)+1))
	chunks := (pieces + chunk - 1) / chunk
	workers = max(1, min(workers, chunks))
	if workers == 1 {
		for i := 0; i < pieces; i++ {
			if i%chunk == 0 && ctx.Err() != nil {
				return
			}
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	work := func(w int) {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks || ctx.Err() != nil {
				return
			}
			end := min((c+1)*chunk, pieces)
			for i := c * chunk; i < end; i++ {
				fn(w, i)
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	work(0)
	wg.Wait()
}
