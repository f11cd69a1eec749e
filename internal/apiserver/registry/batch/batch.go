package batch

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// Resources returns every served batch/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{jobs(), cronJobs()}
}

// Column descriptions upstream uses for the template columns of every workload table.
const (
	containersDescription = "Names of each container in the template."
	imagesDescription     = "Images referenced by each container in the template."
)

// nonNegativePtr reports a negative optional value at path; nil is valid.
func nonNegativePtr[T int32 | int64](value *T, path *field.Path) field.ErrorList {
	if value == nil {
		return nil
	}
	return apimachineryvalidation.ValidateNonnegativeField(int64(*value), path)
}

// containerCells renders the CONTAINERS and IMAGES cells of a template.
func containerCells(spec *corev1.PodSpec) (names, images string) {
	n := make([]string, 0, len(spec.Containers))
	i := make([]string, 0, len(spec.Containers))
	for _, c := range spec.Containers {
		n = append(n, c.Name)
		i = append(i, c.Image)
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}
