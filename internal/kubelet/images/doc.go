// Package images gets images into the node's containerd without a registry: the built-in
// pause (sandbox) image, whose executable it writes from machine code it carries, packed with
// go-containerregistry; the image tarballs (docker-archive or OCI) of
// <data-dir>/agent/images/, imported at start; and `capstan images import FILE...` at run
// time. Imports go through containerd's own client (ctr) into the CRI namespace k8s.io.
//
// It does not pull: pulling (and imagePullPolicy) is the kubelet's, through CRI.
package images
