package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
)

func TestIntegrationNodeIPAM(t *testing.T) {
	s := start(t)
	names := []string{"ipam-1", "ipam-2", "ipam-3", "ipam-4"}
	for _, n := range names {
		ndNode(t, s, n, nil)
	}
	ndUniquePodCIDRs(t, s.Client, names)

	// A restarted controller knows which ranges the nodes hold.
	s.Restart()
	names = append(names, "ipam-5")
	ndNode(t, s, "ipam-5", nil)
	ndUniquePodCIDRs(t, s.Client, names)
}

// ndUniquePodCIDRs waits until every node has its own podCIDR out of 10.42.0.0/16.
func ndUniquePodCIDRs(t *testing.T, client kubernetes.Interface, names []string) {
	t.Helper()
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		seen := sets.New[string]()
		for _, n := range names {
			node, err := client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cidr := node.Spec.PodCIDR
			if cidr == "" || len(node.Spec.PodCIDRs) != 1 || node.Spec.PodCIDRs[0] != cidr {
				return fmt.Errorf("node %s: podCIDR %q podCIDRs %v", n, cidr, node.Spec.PodCIDRs)
			}
			if seen.Has(cidr) {
				return fmt.Errorf("podCIDR %s given twice", cidr)
			}
			seen.Insert(cidr)
		}
		if !seen.Has("10.42.0.0/24") {
			return fmt.Errorf("podCIDRs %v: none is the first /24 of 10.42.0.0/16", sets.List(seen))
		}
		return nil
	})
}
