// Package base is the one control loop every controller runs on: informer events become
// keys in a rate-limited workqueue, workers call the controller's sync(ctx, key), and a
// failed sync is retried with per-key exponential backoff. Controllers are level-triggered:
// sync reads the current state from listers and converges; it never relies on seeing every
// event. This package owns the queue and the workers, not the informers (the caller starts
// a shared informer factory) and not any API logic.
package base
