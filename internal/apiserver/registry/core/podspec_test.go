package core

import (
	"reflect"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// wantErr names an expected validation error by type and field path.
type wantErr struct {
	Type field.ErrorType
	Path string
}

// assertErrs fails unless errs holds exactly the wanted errors, in any order.
func assertErrs(t *testing.T, errs field.ErrorList, want ...wantErr) {
	t.Helper()
	var got []wantErr
	for _, e := range errs {
		got = append(got, wantErr{e.Type, e.Field})
	}
	key := func(a, b wantErr) int {
		if c := slices.Compare([]string{string(a.Type), a.Path}, []string{string(b.Type), b.Path}); c != 0 {
			return c
		}
		return 0
	}
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if !slices.Equal(got, want) {
		t.Errorf("errors = %v\nwant types and paths %v", errs, want)
	}
}

// validSpec returns a defaulted pod spec that passes validation.
func validSpec() corev1.PodSpec {
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}
	DefaultPodSpec(&spec)
	return spec
}

func TestDefaultPodSpec(t *testing.T) {
	t.Parallel()
	spec := corev1.PodSpec{
		DeprecatedServiceAccount: "builder",
		Containers: []corev1.Container{{
			Name: "app", Image: "nginx",
			Ports:          []corev1.ContainerPort{{ContainerPort: 80}},
			LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			Env:            []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100u")}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}},
		}},
		Volumes: []corev1.Volume{
			{Name: "scratch"},
			{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var"}}},
		},
	}
	DefaultPodSpec(&spec)
	c := spec.Containers[0]
	lp := c.LivenessProbe
	checks := []struct {
		name      string
		got, want any
	}{
		{"restartPolicy", spec.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", spec.DNSPolicy, corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds", *spec.TerminationGracePeriodSeconds, int64(30)},
		{"schedulerName", spec.SchedulerName, "default-scheduler"},
		{"securityContext", *spec.SecurityContext, corev1.PodSecurityContext{}},
		{"serviceAccountName from the deprecated field", spec.ServiceAccountName, "builder"},
		{"enableServiceLinks stays unset in a template", spec.EnableServiceLinks, (*bool)(nil)},
		{"imagePullPolicy of an untagged image", c.ImagePullPolicy, corev1.PullAlways},
		{"terminationMessagePath", c.TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", c.TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"port protocol", c.Ports[0].Protocol, corev1.ProtocolTCP},
		{"probe timeout", lp.TimeoutSeconds, int32(1)},
		{"probe period", lp.PeriodSeconds, int32(10)},
		{"probe success threshold", lp.SuccessThreshold, int32(1)},
		{"probe failure threshold", lp.FailureThreshold, int32(3)},
		{"httpGet path", lp.HTTPGet.Path, "/"},
		{"httpGet scheme", lp.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"tcp probe defaults too", c.ReadinessProbe.PeriodSeconds, int32(10)},
		{"fieldRef apiVersion", c.Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"quantities round up to milli", c.Resources.Limits.Cpu().String(), "1m"},
		{"requests stay unset in a template", c.Resources.Requests, corev1.ResourceList(nil)},
		{"a volume without a source is an emptyDir", spec.Volumes[0].EmptyDir, &corev1.EmptyDirVolumeSource{}},
		{"configMap mode", *spec.Volumes[1].ConfigMap.DefaultMode, int32(0644)},
		{"secret mode", *spec.Volumes[2].Secret.DefaultMode, int32(0644)},
		{"hostPath type", *spec.Volumes[3].HostPath.Type, corev1.HostPathUnset},
	}
	for _, c := range checks {
		t.Run("it sets "+c.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestImagePullPolicyDefault(t *testing.T) {
	t.Parallel()
	cases := map[string]corev1.PullPolicy{
		"nginx":                       corev1.PullAlways,
		"nginx:latest":                corev1.PullAlways,
		"nginx:1.27":                  corev1.PullIfNotPresent,
		"registry:5000/team/app":      corev1.PullAlways,
		"registry:5000/team/app:v2":   corev1.PullIfNotPresent,
		"nginx@sha256:0123456789abcd": corev1.PullIfNotPresent,
		"nginx:latest@sha256:0123456": corev1.PullAlways,
	}
	for image, want := range cases {
		t.Run("image "+image+" gets "+string(want), func(t *testing.T) {
			t.Parallel()
			c := corev1.Container{Image: image}
			defaultContainer(&c)
			if c.ImagePullPolicy != want {
				t.Errorf("got %s", c.ImagePullPolicy)
			}
		})
	}
}

func TestDefaultPod(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		HostNetwork: true,
		Containers: []corev1.Container{{
			Name: "app", Image: "app:1",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			},
		}},
	}, Status: corev1.PodStatus{PodIP: "10.42.0.5"}}
	DefaultPod(pod)
	c := pod.Spec.Containers[0]
	t.Run("missing requests are copied from limits", func(t *testing.T) {
		t.Parallel()
		if got := c.Resources.Requests.Memory().String(); got != "1Gi" {
			t.Errorf("memory request = %s", got)
		}
		if got := c.Resources.Requests.Cpu().String(); got != "500m" {
			t.Errorf("explicit cpu request overwritten: %s", got)
		}
	})
	t.Run("enableServiceLinks defaults to true", func(t *testing.T) {
		t.Parallel()
		if pod.Spec.EnableServiceLinks == nil || !*pod.Spec.EnableServiceLinks {
			t.Errorf("got %v", pod.Spec.EnableServiceLinks)
		}
	})
	t.Run("host network copies container ports to host ports", func(t *testing.T) {
		t.Parallel()
		if c.Ports[0].HostPort != 8080 {
			t.Errorf("hostPort = %d", c.Ports[0].HostPort)
		}
	})
	t.Run("cpu and memory get a NotRequired resize policy", func(t *testing.T) {
		t.Parallel()
		if len(c.ResizePolicy) != 2 || c.ResizePolicy[0].RestartPolicy != corev1.NotRequired {
			t.Errorf("resizePolicy = %v", c.ResizePolicy)
		}
	})
	t.Run("podIPs follow podIP", func(t *testing.T) {
		t.Parallel()
		if len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != "10.42.0.5" {
			t.Errorf("podIPs = %v", pod.Status.PodIPs)
		}
	})
}

func TestValidatePodSpecAcceptsValidSpecs(t *testing.T) {
	t.Parallel()
	full := validSpec()
	full.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	full.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
	full.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	full.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}
	full.Containers[0].Env = []corev1.EnvVar{{Name: "my.env-NAME", Value: "x"}}
	full.Containers[0].Resources = corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
	}
	full.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}, {Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}
	full.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	DefaultPodSpec(&full)
	withToken := validSpec()
	withToken.ServiceAccountName = "default"
	withToken.Volumes = []corev1.Volume{kubeAPIAccessVolume()}
	withToken.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "kube-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}}
	DefaultPodSpec(&withToken)
	for name, spec := range map[string]corev1.PodSpec{"minimal": validSpec(), "full": full, "service account token": withToken} {
		t.Run("a "+name+" spec has no errors", func(t *testing.T) {
			t.Parallel()
			assertErrs(t, ValidatePodSpec(&spec, field.NewPath("spec")))
		})
	}
}

// kubeAPIAccessVolume is the projected volume the service account admission adds.
func kubeAPIAccessVolume() corev1.Volume {
	return corev1.Volume{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](3607), Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}}}
}
