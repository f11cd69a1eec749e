package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// podSpecRejectCases are invalid pod specs, made from validSpec, and their errors.
var podSpecRejectCases = []struct {
	name   string
	mutate func(s *corev1.PodSpec)
	want   []wantErr
}{
	{"no containers", func(s *corev1.PodSpec) { s.Containers = nil },
		[]wantErr{{field.ErrorTypeRequired, "spec.containers"}}},
	{"a container without name and image", func(s *corev1.PodSpec) { s.Containers[0].Name, s.Containers[0].Image = "", "" },
		[]wantErr{{field.ErrorTypeRequired, "spec.containers[0].name"}, {field.ErrorTypeRequired, "spec.containers[0].image"}}},
	{"a container name that is not a DNS label", func(s *corev1.PodSpec) { s.Containers[0].Name = "App_1" },
		[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].name"}}},
	{"two containers with one name", func(s *corev1.PodSpec) { s.Containers = append(s.Containers, s.Containers[0]) },
		[]wantErr{{field.ErrorTypeDuplicate, "spec.containers[1].name"}}},
	{"an init container named like a container", func(s *corev1.PodSpec) { s.InitContainers = []corev1.Container{s.Containers[0]} },
		[]wantErr{{field.ErrorTypeDuplicate, "spec.initContainers[0].name"}}},
	{"a port out of range, a bad protocol and a duplicate name", func(s *corev1.PodSpec) {
		s.Containers[0].Ports = []corev1.ContainerPort{
			{Name: "web", ContainerPort: 70000, Protocol: corev1.ProtocolTCP},
			{Name: "web", ContainerPort: 81, Protocol: "HTTP"},
			{ContainerPort: 0, Protocol: corev1.ProtocolUDP},
		}
	}, []wantErr{
		{field.ErrorTypeInvalid, "spec.containers[0].ports[0].containerPort"},
		{field.ErrorTypeDuplicate, "spec.containers[0].ports[1].name"},
		{field.ErrorTypeNotSupported, "spec.containers[0].ports[1].protocol"},
		{field.ErrorTypeRequired, "spec.containers[0].ports[2].containerPort"},
	}},
	{"a host port used twice", func(s *corev1.PodSpec) {
		s.Containers[0].Ports = []corev1.ContainerPort{
			{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP},
			{ContainerPort: 81, HostPort: 8080, Protocol: corev1.ProtocolTCP},
		}
	}, []wantErr{{field.ErrorTypeDuplicate, "spec.containers[0].ports[1].hostPort"}}},
	{"an env var named with '=' and one with two sources", func(s *corev1.PodSpec) {
		s.Containers[0].Env = []corev1.EnvVar{
			{Name: "A=B"},
			{Name: "OK", Value: "x", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
			{Name: "BAD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.phase"}}},
		}
	}, []wantErr{
		{field.ErrorTypeInvalid, "spec.containers[0].env[0].name"},
		{field.ErrorTypeInvalid, "spec.containers[0].env[1].valueFrom"},
		{field.ErrorTypeNotSupported, "spec.containers[0].env[2].valueFrom.fieldRef.fieldPath"},
	}},
	{"a volume mount of an unknown volume", func(s *corev1.PodSpec) {
		s.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}, {Name: "nope", MountPath: "/x"}}
	}, []wantErr{
		{field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[0].name"},
		{field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[1].name"},
		{field.ErrorTypeInvalid, "spec.containers[0].volumeMounts[1].mountPath"},
	}},
	{"volumes with a bad name, a duplicate name and two sources", func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{
			{Name: "Data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "two", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}},
			{Name: "dup", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "dup", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "none"},
		}
	}, []wantErr{
		{field.ErrorTypeInvalid, "spec.volumes[0].name"},
		{field.ErrorTypeForbidden, "spec.volumes[1].emptyDir"},
		{field.ErrorTypeDuplicate, "spec.volumes[3].name"},
		{field.ErrorTypeRequired, "spec.volumes[4]"},
	}},
	{"volume sources missing their names", func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{
			{Name: "a", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{DefaultMode: ptr.To[int32](01000)}}},
			{Name: "b", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{Items: []corev1.KeyToPath{{Key: "k", Path: "../x"}}}}},
			{Name: "c", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{}}},
			{Name: "d", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x", Type: ptr.To[corev1.HostPathType]("Pipe")}}},
		}
	}, []wantErr{
		{field.ErrorTypeRequired, "spec.volumes[0].secret.secretName"},
		{field.ErrorTypeInvalid, "spec.volumes[0].secret.defaultMode"},
		{field.ErrorTypeRequired, "spec.volumes[1].configMap.name"},
		{field.ErrorTypeInvalid, "spec.volumes[1].configMap.items[0].path"},
		{field.ErrorTypeRequired, "spec.volumes[2].persistentVolumeClaim.claimName"},
		{field.ErrorTypeNotSupported, "spec.volumes[3].hostPath.type"},
	}},
	{"requests above limits and a negative quantity", func(s *corev1.PodSpec) {
		s.Containers[0].Resources = corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("-1")},
			Requests: cpuList("2"),
		}
	}, []wantErr{
		{field.ErrorTypeInvalid, "spec.containers[0].resources.limits[memory]"},
		{field.ErrorTypeInvalid, "spec.containers[0].resources.requests"},
	}},
	{"an unknown resource name and an extended resource without a limit", func(s *corev1.PodSpec) {
		s.Containers[0].Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{
			"gpus": resource.MustParse("1"), "example.com/gpu": resource.MustParse("1"),
		}}
	}, []wantErr{
		{field.ErrorTypeInvalid, "spec.containers[0].resources.requests[gpus]"},
		{field.ErrorTypeInvalid, "spec.containers[0].resources.requests[gpus]"},
		{field.ErrorTypeRequired, "spec.containers[0].resources.limits"},
	}},
	{"probes with two handlers, none, negative numbers and a liveness success threshold", func(s *corev1.PodSpec) {
		c := &s.Containers[0]
		c.LivenessProbe = &corev1.Probe{SuccessThreshold: 2, PeriodSeconds: -1, ProbeHandler: corev1.ProbeHandler{
			Exec: &corev1.ExecAction{Command: []string{"true"}}, TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)},
		}}
		c.ReadinessProbe = &corev1.Probe{SuccessThreshold: 1}
	}, []wantErr{
		{field.ErrorTypeForbidden, "spec.containers[0].livenessProbe.tcpSocket"},
		{field.ErrorTypeInvalid, "spec.containers[0].livenessProbe.periodSeconds"},
		{field.ErrorTypeInvalid, "spec.containers[0].livenessProbe.successThreshold"},
		{field.ErrorTypeRequired, "spec.containers[0].readinessProbe"},
	}},
	{"a probe on a plain init container", func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", ImagePullPolicy: corev1.PullAlways,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			ReadinessProbe:           &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}}}
	}, []wantErr{{field.ErrorTypeForbidden, "spec.initContainers[0].readinessProbe"}}},
	{"unknown restart and DNS policies", func(s *corev1.PodSpec) { s.RestartPolicy, s.DNSPolicy = "Sometimes", "" },
		[]wantErr{{field.ErrorTypeNotSupported, "spec.restartPolicy"}, {field.ErrorTypeRequired, "spec.dnsPolicy"}}},
	{"no termination grace period", func(s *corev1.PodSpec) { s.TerminationGracePeriodSeconds = nil },
		[]wantErr{{field.ErrorTypeRequired, "spec.terminationGracePeriodSeconds"}}},
	{"a zero active deadline", func(s *corev1.PodSpec) { s.ActiveDeadlineSeconds = ptr.To[int64](0) },
		[]wantErr{{field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"}}},
	{"a node selector with a bad key", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"-bad": "x"} },
		[]wantErr{{field.ErrorTypeInvalid, "spec.nodeSelector"}}},
	{"bad tolerations", func(s *corev1.PodSpec) {
		s.Tolerations = []corev1.Toleration{
			{Operator: corev1.TolerationOpEqual, Value: "v"},
			{Key: "k", Operator: corev1.TolerationOpExists, Value: "v"},
			{Key: "k", Operator: "In"},
			{Key: "k", Effect: "Sometimes"},
			{Key: "k", Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr.To[int64](5)},
		}
	}, []wantErr{
		{field.ErrorTypeInvalid, "spec.tolerations[0].operator"},
		{field.ErrorTypeInvalid, "spec.tolerations[1].operator"},
		{field.ErrorTypeNotSupported, "spec.tolerations[2].operator"},
		{field.ErrorTypeNotSupported, "spec.tolerations[3].effect"},
		{field.ErrorTypeInvalid, "spec.tolerations[4].effect"},
	}},
	{"node affinity without terms and a pod affinity without topology key", func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{
			NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}},
			PodAffinity:  &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{}}},
		}
	}, []wantErr{
		{field.ErrorTypeRequired, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"},
		{field.ErrorTypeRequired, "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"},
		{field.ErrorTypeInvalid, "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"},
		{field.ErrorTypeInvalid, "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"},
	}},
	{"a projected volume with two files at one path and a short-lived token", func(s *corev1.PodSpec) {
		v := kubeAPIAccessVolume()
		v.Projected.Sources[0].ServiceAccountToken.Path = "ca.crt"
		v.Projected.Sources[0].ServiceAccountToken.ExpirationSeconds = ptr.To[int64](60)
		s.Volumes = []corev1.Volume{v}
	}, []wantErr{
		{field.ErrorTypeInvalid, "spec.volumes[0].projected"},
		{field.ErrorTypeInvalid, "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds"},
	}},
	{"dnsPolicy None without a dnsConfig", func(s *corev1.PodSpec) { s.DNSPolicy = corev1.DNSNone },
		[]wantErr{{field.ErrorTypeRequired, "spec.dnsConfig"}}},
	{"a hostNetwork pod template with a mismatched host port", func(s *corev1.PodSpec) {
		s.HostNetwork = true
		s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 81, Protocol: corev1.ProtocolTCP}}
	}, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort"}}},
}

func cpuList(s string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(s)}
}

func TestValidatePodSpecRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range podSpecRejectCases {
		t.Run("it rejects "+tc.name, func(t *testing.T) {
			t.Parallel()
			spec := validSpec()
			tc.mutate(&spec)
			assertErrs(t, ValidatePodSpec(&spec, field.NewPath("spec")), tc.want...)
		})
	}
}

func TestValidatePodTemplateSpec(t *testing.T) {
	t.Parallel()
	t.Run("a missing template is required", func(t *testing.T) {
		t.Parallel()
		assertErrs(t, ValidatePodTemplateSpec(nil, field.NewPath("spec", "template")),
			wantErr{field.ErrorTypeRequired, "spec.template"})
	})
	t.Run("labels are reported at template.labels and ephemeral containers are forbidden", func(t *testing.T) {
		t.Parallel()
		tmpl := &corev1.PodTemplateSpec{Spec: validSpec()}
		tmpl.Labels = map[string]string{"app": "not valid!"}
		tmpl.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		}}}
		assertErrs(t, ValidatePodTemplateSpec(tmpl, field.NewPath("spec", "template")),
			wantErr{field.ErrorTypeInvalid, "spec.template.labels"},
			wantErr{field.ErrorTypeForbidden, "spec.template.spec.ephemeralContainers"})
	})
}

func TestPodQOSClass(t *testing.T) {
	t.Parallel()
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	cases := []struct {
		name string
		res  []corev1.ResourceRequirements
		want corev1.PodQOSClass
	}{
		{"no resources at all", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"equal cpu and memory requests and limits", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi"), Requests: rl("1", "1Gi")}}, corev1.PodQOSGuaranteed},
		{"only a cpu request", []corev1.ResourceRequirements{{Requests: rl("100m", "")}}, corev1.PodQOSBurstable},
		{"limits on only one of two containers", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi"), Requests: rl("1", "1Gi")}, {}}, corev1.PodQOSBurstable},
		{"requests below limits", []corev1.ResourceRequirements{{Limits: rl("1", "1Gi"), Requests: rl("500m", "1Gi")}}, corev1.PodQOSBurstable},
	}
	for _, tc := range cases {
		t.Run("a pod with "+tc.name+" is "+string(tc.want), func(t *testing.T) {
			t.Parallel()
			pod := &corev1.Pod{}
			for i, r := range tc.res {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: string(rune('a' + i)), Resources: r})
			}
			if got := PodQOSClass(pod); got != tc.want {
				t.Errorf("got %s", got)
			}
		})
	}
}
