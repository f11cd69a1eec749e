package core

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"

	"capstan/internal/apiserver/registry"
)

// nodeAndPodResources returns pods, podtemplates, replicationcontrollers, nodes, namespaces
// and events.
func nodeAndPodResources() []registry.Resource {
	gvk := corev1.SchemeGroupVersion.WithKind
	return []registry.Resource{
		{
			GVK: gvk("Pod"), Plural: "pods", Singular: "pod", Namespaced: true,
			ShortNames: []string{"po"}, Categories: []string{"all"}, Status: true,
			Strategy: podStrategy{}, Table: podTable, Fields: podFields,
		},
		{
			GVK: gvk("PodTemplate"), Plural: "podtemplates", Singular: "podtemplate", Namespaced: true,
			Strategy: podTemplateStrategy{}, Table: podTemplateTable,
		},
		{
			GVK: gvk("ReplicationController"), Plural: "replicationcontrollers", Singular: "replicationcontroller",
			Namespaced: true, ShortNames: []string{"rc"}, Categories: []string{"all"}, Status: true, Scale: rcScale,
			Strategy: rcStrategy{}, Table: rcTable, Fields: rcFields,
		},
		{
			GVK: gvk("Node"), Plural: "nodes", Singular: "node", ShortNames: []string{"no"}, Status: true,
			Strategy: nodeStrategy{}, Table: nodeTable, Fields: nodeFields,
		},
		{
			GVK: gvk("Namespace"), Plural: "namespaces", Singular: "namespace", ShortNames: []string{"ns"}, Status: true,
			Strategy: namespaceStrategy{}, Table: namespaceTable, Fields: namespaceFields,
			NameValidation: apimachineryvalidation.NameIsDNSLabel,
		},
		{
			GVK: gvk("Event"), Plural: "events", Singular: "event", Namespaced: true, ShortNames: []string{"ev"},
			Strategy: eventStrategy{}, Table: eventTable, Fields: eventFields, NameValidation: eventNameValidation,
		},
	}
}
