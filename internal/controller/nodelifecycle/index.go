package nodelifecycle

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// nodeNameIndex indexes pods by spec.nodeName in the shared pod informer.
const nodeNameIndex = "nodelifecycle/spec.nodeName"

// addNodeNameIndex adds the index unless a controller of this package already has.
func addNodeNameIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[nodeNameIndex]; ok {
		return nil
	}
	return inf.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
			return []string{pod.Spec.NodeName}, nil
		}
		return nil, nil
	}})
}
