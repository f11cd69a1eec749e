package fieldmanager_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"capstan/internal/apiserver"
	"capstan/internal/apiserver/fieldmanager"
	"capstan/internal/apiserver/openapi"
	"capstan/internal/apiserver/registry"
)

// benchPod is a pod as a controller creates it: defaulted, one container with ports,
// resources, env and a probe.
func benchPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-7d9f8-abcde", Namespace: "default", GenerateName: "web-7d9f8-",
			Labels:          map[string]string{"app": "web", "pod-template-hash": "7d9f8"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8", UID: "rs-uid", Controller: new(true), BlockOwnerDeletion: new(true)}},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "web", Image: "nginx:1.27", ImagePullPolicy: corev1.PullIfNotPresent,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
				Env:   []corev1.EnvVar{{Name: "MODE", Value: "prod"}, {Name: "LEVEL", Value: "info"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				ReadinessProbe:         &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intOrString(80)}}, PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
			RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst, SchedulerName: "default-scheduler",
			TerminationGracePeriodSeconds: new(int64(30)), SecurityContext: &corev1.PodSecurityContext{},
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: new(int64(300))}},
		},
	}
}

// BenchmarkPodCreate is the field-management cost of a pod create: an Update entry for
// every field.
func BenchmarkPodCreate(b *testing.B) {
	m := manager(b, fieldmanager.Options{GVK: podGVK, HasStatus: true})
	pod := benchPod()
	b.ReportAllocs()
	for b.Loop() {
		obj := pod.DeepCopy()
		if err := m.Update(nil, obj, "kube-controller-manager", t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPodStatusUpdate is a kubelet status write to a pod two managers already own.
func BenchmarkPodStatusUpdate(b *testing.B) {
	main := manager(b, fieldmanager.Options{GVK: podGVK, HasStatus: true})
	status := manager(b, fieldmanager.Options{GVK: podGVK, Subresource: "status", HasStatus: true})
	live := benchPod()
	if err := main.Update(nil, live, "kube-controller-manager", t0); err != nil {
		b.Fatal(err)
	}
	next := live.DeepCopy()
	next.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.5", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if err := status.Update(live, next, "kubelet", t0); err != nil {
		b.Fatal(err)
	}
	live = next
	b.ReportAllocs()
	for b.Loop() {
		obj := live.DeepCopy()
		obj.Status.PodIP = "10.0.0.6"
		if err := status.Update(live, obj, "kubelet", t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeploymentApply is a server-side apply that changes one field.
func BenchmarkDeploymentApply(b *testing.B) {
	m := deploymentManager(b, "")
	cfg := func(image string) map[string]any {
		return config(b, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: `+image+`, ports: [{containerPort: 80, protocol: TCP}]}
`)
	}
	live := newDeployment(2, nil)
	live.ManagedFields = nil
	if err := m.Apply(nil, cfg("nginx:1"), live, "kubectl", false, t0); err != nil {
		b.Fatal(err)
	}
	next := cfg("nginx:2")
	b.ReportAllocs()
	for b.Loop() {
		out := newDeployment(0, nil)
		if err := m.Apply(live, next, out, "kubectl", false, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func intOrString(port int) intstr.IntOrString { return intstr.FromInt32(int32(port)) }

// BenchmarkBuildSchemas is the one-time cost of the schemas: building the OpenAPI v3
// documents of every resource and converting them.
func BenchmarkBuildSchemas(b *testing.B) {
	for b.Loop() {
		h, err := openapi.NewHandler(openapi.Options{Scheme: registry.NewScheme(), Resources: apiserver.AllResources()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := fieldmanager.FromOpenAPI(h); err != nil {
			b.Fatal(err)
		}
	}
}
