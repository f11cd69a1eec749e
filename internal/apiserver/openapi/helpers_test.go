package openapi

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"capstan/internal/apiserver/registry"
)

// testResources is a stand-in for the real resource lists: the built-in resources of upstream's
// kube-apiserver, enough to exercise every group the documents cover.
func testResources() []registry.Resource {
	scale := &registry.Scale{}
	r := func(group, version, kind, plural string, namespaced, status bool, sc *registry.Scale) registry.Resource {
		return registry.Resource{
			GVK:        schema.GroupVersionKind{Group: group, Version: version, Kind: kind},
			Plural:     plural,
			Namespaced: namespaced,
			Status:     status,
			Scale:      sc,
		}
	}
	return []registry.Resource{
		r("", "v1", "Pod", "pods", true, true, nil),
		r("", "v1", "Service", "services", true, true, nil),
		r("", "v1", "ConfigMap", "configmaps", true, false, nil),
		r("", "v1", "Secret", "secrets", true, false, nil),
		r("", "v1", "Namespace", "namespaces", false, true, nil),
		r("", "v1", "Node", "nodes", false, true, nil),
		r("", "v1", "Event", "events", true, false, nil),
		r("", "v1", "Endpoints", "endpoints", true, false, nil),
		r("", "v1", "PersistentVolume", "persistentvolumes", false, true, nil),
		r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, true, nil),
		r("", "v1", "ServiceAccount", "serviceaccounts", true, false, nil),
		r("", "v1", "ReplicationController", "replicationcontrollers", true, true, scale),
		r("", "v1", "ResourceQuota", "resourcequotas", true, true, nil),
		r("", "v1", "LimitRange", "limitranges", true, false, nil),
		r("", "v1", "PodTemplate", "podtemplates", true, false, nil),
		r("apps", "v1", "Deployment", "deployments", true, true, scale),
		r("apps", "v1", "ReplicaSet", "replicasets", true, true, scale),
		r("apps", "v1", "StatefulSet", "statefulsets", true, true, scale),
		r("apps", "v1", "DaemonSet", "daemonsets", true, true, nil),
		r("apps", "v1", "ControllerRevision", "controllerrevisions", true, false, nil),
		r("batch", "v1", "Job", "jobs", true, true, nil),
		r("batch", "v1", "CronJob", "cronjobs", true, true, nil),
		r("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, true, nil),
		r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, true, nil),
		r("networking.k8s.io", "v1", "Ingress", "ingresses", true, true, nil),
		r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, false, nil),
		r("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, false, nil),
		r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, true, nil),
		r("rbac.authorization.k8s.io", "v1", "Role", "roles", true, false, nil),
		r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, false, nil),
		r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, false, nil),
		r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false, false, nil),
		r("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, false, nil),
		r("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false, false, nil),
		r("storage.k8s.io", "v1", "CSINode", "csinodes", false, false, nil),
		r("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", false, true, nil),
		r("coordination.k8s.io", "v1", "Lease", "leases", true, false, nil),
		r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, false, nil),
		r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false, false, nil),
		r("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", false, true, nil),
		r("events.k8s.io", "v1", "Event", "events", true, false, nil),
		r("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", false, false, nil),
		r("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false, false, nil),
		r("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false, false, nil),
		r("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", "flowschemas", false, true, nil),
		r("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration", "prioritylevelconfigurations", false, true, nil),
	}
}

// newTestHandler returns a handler over testResources and the full scheme.
func newTestHandler(t testing.TB) *Handler {
	t.Helper()
	h, err := NewHandler(Options{Scheme: registry.NewScheme(), Resources: testResources(), Version: "v1.37.2"})
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return h
}
