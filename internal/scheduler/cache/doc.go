// Package cache is the scheduler's view of which pods use which node: pods bound in the API
// plus pods this scheduler has decided on but whose binding is still in flight ("assumed"),
// so the next cycle already counts them. Informer handlers feed it; the scheduling loop
// reads it only through UpdateSnapshot, which copies the nodes that changed since the last
// cycle into the cycle's immutable snapshot.
package cache
