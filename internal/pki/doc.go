// Package pki owns the cluster's key material on disk: the cluster CA, leaf
// certificates it issues (API server serving cert, component client certs),
// CSR signing for TLS bootstrapping, the service-account signing key,
// kubeconfig files, and the CA hash agents use to pin the CA when they join.
//
// Every file is written atomically (temporary file in the same directory,
// fsync, rename), so a crash never leaves a truncated key or certificate.
// Private keys are written 0600 and certificates 0644; directories that have to
// be created for certificates and keys are created 0700 (a kubeconfig's parent
// 0755, so a kubeconfig written 0644 on purpose stays readable). The caller
// chooses a kubeconfig's mode, and the file gets exactly that mode.
//
// Loading is conservative: a CA or key file that cannot be parsed is an error,
// never silently replaced, because replacing a CA invalidates every credential
// in the cluster. Leaf certificates are cheap and are reissued whenever they no
// longer match what the caller asks for.
//
// The package must not: keep package-level state, read flags or the
// environment, talk to the network or the API server, or decide file locations
// (callers pass every path). Callers serialise calls that touch the same files;
// the package does no cross-process locking.
package pki
