// Package rootca is the root-ca-certificate-publisher-controller: it keeps the
// kube-root-ca.crt ConfigMap, whose ca.crt key holds the cluster CA bundle, in every
// namespace, and puts it back when it is edited or deleted. It publishes only what it is
// given; it never reads or writes certificates itself.
package rootca
