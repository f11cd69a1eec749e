// Package server assembles the control-plane role, `capstan server`: PKI, the etcd member
// (or an external datastore), the API server and the admin kubeconfig, started in order and
// stopped on one shutdown path. It holds no component logic of its own.
package server
