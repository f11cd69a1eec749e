package resourcequota

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countOther counts the objects a count/<resource>.<group> name refers to, for kinds
// without an informer here. ok is false when the kind cannot be counted (no metadata
// client, or no such resource).
func (c *Controller) countOther(ctx context.Context, ns string, name corev1.ResourceName) (resource.Quantity, bool, error) {
	if c.opts.Metadata == nil || c.opts.Mapper == nil {
		return resource.Quantity{}, false, nil
	}
	gr := schema.ParseGroupResource(strings.TrimPrefix(string(name), "count/"))
	gvr, err := c.opts.Mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return resource.Quantity{}, false, nil
	}
	list, err := c.opts.Metadata.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return resource.Quantity{}, false, err
	}
	return *resource.NewQuantity(int64(len(list.Items)), resource.DecimalSI), true, nil
}
