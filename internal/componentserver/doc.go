// Package componentserver serves a control-plane component's own endpoints (/metrics,
// /healthz, /livez, /readyz) over HTTPS, like upstream's --secure-port of the scheduler and
// the controller-manager. It knows nothing about the component behind it.
package componentserver
