// Package leaderelection runs a function only while this process holds a
// coordination.k8s.io Lease, as upstream's scheduler and controller-manager do, so several
// servers can run the same component and exactly one acts. It wraps client-go's elector.
package leaderelection
