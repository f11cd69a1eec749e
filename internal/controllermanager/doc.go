// Package controllermanager runs the controllers of kube-controller-manager: it builds the
// shared informers and clients, selects controllers like upstream's --controllers (`*`,
// `name`, `-name`), and runs them while holding the kube-controller-manager Lease. Each
// controller lives in its own package under internal/controller and is listed once in
// controllers.go; this package holds no control logic.
package controllermanager
