// Package plugins is the home of the scheduler's plugins, one package each, named and
// behaving like upstream's. Each is a pure function of the pod, the cycle's snapshot and
// the Handle's in-memory views; none talks to the API server.
package plugins
