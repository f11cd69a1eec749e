package envvars

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"

	"capstan/internal/kubelet/podspec"
)

// Sources reads the API objects environment variables refer to.
type Sources interface {
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
}

// PodInfo is what fieldRef and resourceFieldRef read besides the pod itself.
type PodInfo struct {
	PodIPs  []string
	HostIPs []string
	// Allocatable of the node, for resourceFieldRef limits a container does not set.
	Allocatable corev1.ResourceList
	// Services of the cluster, for the service variables.
	Services []*corev1.Service
}

// ConfigError is an environment that cannot be built (a missing ConfigMap, Secret or
// key): the container waits with reason CreateContainerConfigError.
type ConfigError struct{ Message string }

func (e *ConfigError) Error() string { return e.Message }

// Resolve computes the environment of container c of pod, in upstream's order: envFrom
// sources, then env (expanded against what came before and the service variables), then
// the service variables not already set.
func Resolve(ctx context.Context, src Sources, pod *corev1.Pod, c *corev1.Container, info PodInfo) ([]Var, error) {
	enableLinks := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	svcVars := ServiceVars(info.Services, pod.Namespace, enableLinks)
	svcMap := map[string]string{}
	for _, v := range svcVars {
		svcMap[v.Name] = v.Value
	}
	env := newOrderedEnv()
	for _, from := range c.EnvFrom {
		if err := addEnvFrom(ctx, src, pod.Namespace, from, env); err != nil {
			return nil, err
		}
	}
	lookup := func(name string) (string, bool) {
		if v, ok := env.values[name]; ok {
			return v, true
		}
		v, ok := svcMap[name]
		return v, ok
	}
	for _, e := range c.Env {
		var value string
		switch {
		case e.ValueFrom == nil:
			value = Expand(e.Value, lookup)
		default:
			v, ok, err := valueFrom(ctx, src, pod, c, e.ValueFrom, info)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue // an optional reference that is missing: no variable
			}
			value = v
		}
		env.set(e.Name, value)
	}
	for _, v := range svcVars {
		if _, ok := env.values[v.Name]; !ok {
			env.set(v.Name, v.Value)
		}
	}
	return env.list(), nil
}

type orderedEnv struct {
	names  []string
	values map[string]string
}

func newOrderedEnv() *orderedEnv { return &orderedEnv{values: map[string]string{}} }

func (o *orderedEnv) set(name, value string) {
	if _, ok := o.values[name]; !ok {
		o.names = append(o.names, name)
	}
	o.values[name] = value
}

func (o *orderedEnv) list() []Var {
	out := make([]Var, len(o.names))
	for i, n := range o.names {
		out[i] = Var{n, o.values[n]}
	}
	return out
}

func addEnvFrom(ctx context.Context, src Sources, ns string, from corev1.EnvFromSource, env *orderedEnv) error {
	var data map[string]string
	switch {
	case from.ConfigMapRef != nil:
		cm, err := src.ConfigMap(ctx, ns, from.ConfigMapRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(from.ConfigMapRef.Optional) {
				return nil
			}
			return configErr(err, "configmap", from.ConfigMapRef.Name)
		}
		data = cm.Data
	case from.SecretRef != nil:
		s, err := src.Secret(ctx, ns, from.SecretRef.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(from.SecretRef.Optional) {
				return nil
			}
			return configErr(err, "secret", from.SecretRef.Name)
		}
		data = map[string]string{}
		for k, v := range s.Data {
			data[k] = string(v)
		}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := from.Prefix + k
		if name == "" || strings.Contains(name, "=") {
			continue
		}
		env.set(name, data[k])
	}
	return nil
}

func configErr(err error, kind, name string) error {
	if apierrors.IsNotFound(err) {
		return &ConfigError{Message: fmt.Sprintf("%s %q not found", kind, name)}
	}
	return fmt.Errorf("getting %s %q: %w", kind, name, err)
}

func optional(b *bool) bool { return b != nil && *b }

func valueFrom(ctx context.Context, src Sources, pod *corev1.Pod, c *corev1.Container, from *corev1.EnvVarSource, info PodInfo) (string, bool, error) {
	switch {
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := src.ConfigMap(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErr(err, "configmap", ref.Name)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, true, nil
		}
		if v, ok := cm.BinaryData[ref.Key]; ok {
			return string(v), true, nil
		}
		if optional(ref.Optional) {
			return "", false, nil
		}
		return "", false, &ConfigError{Message: fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)}
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := src.Secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErr(err, "secret", ref.Name)
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), true, nil
		}
		if optional(ref.Optional) {
			return "", false, nil
		}
		return "", false, &ConfigError{Message: fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)}
	case from.FieldRef != nil:
		v, err := FieldValue(pod, from.FieldRef.FieldPath, info)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		target := c
		if name := from.ResourceFieldRef.ContainerName; name != "" {
			target = podspec.Container(pod, name)
			if target == nil {
				return "", false, &ConfigError{Message: fmt.Sprintf("container %q not found in pod", name)}
			}
		}
		v, err := ResourceValue(from.ResourceFieldRef, target, info.Allocatable)
		return v, err == nil, err
	}
	return "", false, &ConfigError{Message: "unsupported valueFrom"}
}

// FieldValue reads a fieldRef path of the downward API.
func FieldValue(pod *corev1.Pod, path string, info PodInfo) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	first := func(ips []string) string {
		if len(ips) > 0 {
			return ips[0]
		}
		return ""
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return first(info.HostIPs), nil
	case "status.hostIPs":
		return strings.Join(info.HostIPs, ","), nil
	case "status.podIP":
		return first(info.PodIPs), nil
	case "status.podIPs":
		return strings.Join(info.PodIPs, ","), nil
	}
	return "", &ConfigError{Message: fmt.Sprintf("unsupported fieldRef %q", path)}
}

// subscript splits "metadata.labels['key']" into key.
func subscript(path, field string) (string, bool) {
	rest, ok := strings.CutPrefix(path, field+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// formatMap renders labels or annotations as the downward API does: key="value" lines,
// sorted, values quoted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k + "=" + strconv.Quote(m[k]))
	}
	return b.String()
}

// ResourceValue reads a resourceFieldRef: a container's request or limit in units of the
// divisor, rounded up; a limit the container does not set is the node's allocatable.
func ResourceValue(ref *corev1.ResourceFieldSelector, c *corev1.Container, allocatable corev1.ResourceList) (string, error) {
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	var q resource.Quantity
	var found bool
	switch ref.Resource {
	case "limits.cpu", "limits.memory", "limits.ephemeral-storage":
		name := corev1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))
		q, found = c.Resources.Limits[name]
		if !found {
			q = allocatable[name]
		}
	case "requests.cpu", "requests.memory", "requests.ephemeral-storage":
		name := corev1.ResourceName(strings.TrimPrefix(ref.Resource, "requests."))
		q = c.Resources.Requests[name]
	default:
		if strings.HasPrefix(ref.Resource, "limits.hugepages-") || strings.HasPrefix(ref.Resource, "requests.hugepages-") {
			_, name, _ := strings.Cut(ref.Resource, ".")
			if strings.HasPrefix(ref.Resource, "limits.") {
				q = c.Resources.Limits[corev1.ResourceName(name)]
			} else {
				q = c.Resources.Requests[corev1.ResourceName(name)]
			}
			break
		}
		return "", &ConfigError{Message: fmt.Sprintf("unsupported resourceFieldRef %q", ref.Resource)}
	}
	if strings.HasSuffix(ref.Resource, ".cpu") {
		v := math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue()))
		return strconv.FormatInt(int64(v), 10), nil
	}
	v := math.Ceil(float64(q.Value()) / float64(divisor.Value()))
	return strconv.FormatInt(int64(v), 10), nil
}
