// Package resourcequota is the resource quota controller ("resourcequota-controller"): it
// writes each ResourceQuota's status.hard (from spec.hard) and status.used, the total of
// what the objects of its namespace charge (pods within its scopes, services, claims,
// object counts of any resource). Creates are charged by the API server's admission as
// they happen; the controller recounts when usage can only have gone down (deletes,
// finished pods), when a quota changes, and every sync period.
package resourcequota
