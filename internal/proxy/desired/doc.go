// Package desired computes the forwarding a node should have from the Services, the
// EndpointSlices and the node's own Node object: which service addresses exist, which
// endpoints each kind of traffic may reach (ready ones, else serving and terminating ones,
// as upstream), what happens when none can (reject or drop), and which traffic is
// masqueraded. Every proxy mode renders the same State.
//
// Compute is a pure function: it reads no clock, no network and no API, and it never
// modifies its inputs. It must not know about any mode's rule syntax.
package desired
