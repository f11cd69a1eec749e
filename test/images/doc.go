// Package images holds the project's own test image programs. Each subdirectory is a
// static Go program (built with CGO_ENABLED=0) that test/e2e/framework packs into an image
// tarball and imports into the node's containerd, so no test needs a registry.
//
//	agnhost   HTTP and UDP test server (hostname, health on demand, env, exit, sleep, echo)
//
// The busybox image is not built here: the harness packs Debian's busybox-static.
package images
