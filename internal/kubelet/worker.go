package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/kubelet/podsync"
)

// podWorker converges one pod. Its goroutine is the only one that acts on the pod in the
// runtime; anything that may matter to the pod just kicks it, and the worker re-reads the
// desired pod and the runtime state (level-triggered).
type podWorker struct {
	uid  types.UID
	kick chan struct{}

	// Owned by the worker goroutine:
	// waiting holds why containers could not start (image pulls, config errors); an entry
	// stays until the container starts.
	waiting map[string]podsync.Waiting
	// last is the last desired pod seen, used to stop the pod once it is gone.
	last *corev1.Pod
	// terminated: the pod's containers and sandboxes are stopped for good.
	terminated bool
	// deadline: activeDeadlineSeconds ran out.
	deadline bool
	// evicted says why the pod was evicted (an emptyDir over its sizeLimit), or "".
	evicted string
}

// kick wakes the worker of uid, starting one if there is none.
func (k *Kubelet) kick(uid types.UID) {
	k.mu.Lock()
	w := k.workers[uid]
	if w == nil {
		w = &podWorker{uid: uid, kick: make(chan struct{}, 1), waiting: map[string]podsync.Waiting{}}
		k.workers[uid] = w
		k.wg.Add(1)
		go k.runWorker(k.workerCtx, w)
	}
	k.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (k *Kubelet) runWorker(ctx context.Context, w *podWorker) {
	defer k.wg.Done()
	timer := k.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-timer.C():
		}
		next, finished := k.syncWorker(ctx, w)
		if finished {
			k.mu.Lock()
			_, desired := k.pods[w.uid]
			if !desired {
				delete(k.workers, w.uid)
				k.mu.Unlock()
				return
			}
			k.mu.Unlock()
			next = 0 // it came back meanwhile
		}
		if !timer.Stop() {
			select {
			case <-timer.C():
			default:
			}
		}
		if next <= 0 {
			next = time.Millisecond
		}
		timer.Reset(next)
	}
}

// stopWorkers waits for the workers after the kubelet's context is done.
func (k *Kubelet) stopWorkers() { k.wg.Wait() }

// desiredPod returns a copy of the pod the kubelet should run as uid, or nil.
func (k *Kubelet) desiredPod(uid types.UID) *corev1.Pod {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p := k.pods[uid]; p != nil {
		return p.DeepCopy()
	}
	return nil
}
