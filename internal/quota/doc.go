// Package quota is the pure logic of resource quotas and limit ranges, shared by the API
// server's admission (which refuses and defaults) and the resource quota controller
// (which totals): the usage an object charges, which quotas and scopes apply to it, the
// requests a pod must state, resource list arithmetic, and LimitRange defaults and
// checks. It makes no API calls and keeps no state.
package quota
