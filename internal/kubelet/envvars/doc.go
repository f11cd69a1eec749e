// Package envvars computes a container's environment as upstream's kubelet does: envFrom,
// env with $(VAR) expansion and valueFrom (configMapKeyRef, secretKeyRef, fieldRef,
// resourceFieldRef), and the docker-link style variables of the services. The API objects
// it needs come through the Sources interface; it does no I/O of its own.
package envvars
