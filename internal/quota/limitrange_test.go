package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func limitRange(items ...corev1.LimitRangeItem) *corev1.LimitRange {
	return &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "lr"}, Spec: corev1.LimitRangeSpec{Limits: items}}
}

func TestDefaultPod(t *testing.T) {
	t.Parallel()
	lr := limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
		Default: rl("cpu", "500m", "memory", "128Mi"), DefaultRequest: rl("cpu", "100m", "memory", "64Mi")})
	p := podWith(container("app", nil, nil), container("sized", rl("cpu", "1"), rl("cpu", "2", "memory", "1Gi")))
	DefaultPod(p, []*corev1.LimitRange{lr})
	if got := Format(p.Spec.Containers[0].Resources.Requests) + " " + Format(p.Spec.Containers[0].Resources.Limits); got != "cpu=100m,memory=64Mi cpu=500m,memory=128Mi" {
		t.Errorf("defaulted container: %s", got)
	}
	if got := Format(p.Spec.Containers[1].Resources.Requests) + " " + Format(p.Spec.Containers[1].Resources.Limits); got != "cpu=1,memory=64Mi cpu=2,memory=1Gi" {
		t.Errorf("container stating its own: %s", got)
	}
	want := "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app; memory request for container sized"
	if got := p.Annotations[LimitRangerAnnotation]; got != want {
		t.Errorf("annotation\n got %q\nwant %q", got, want)
	}
	untouched := podWith(container("app", rl("cpu", "1", "memory", "1"), rl("cpu", "1", "memory", "1")))
	DefaultPod(untouched, []*corev1.LimitRange{lr})
	if _, ok := untouched.Annotations[LimitRangerAnnotation]; ok {
		t.Error("annotated a pod that got no defaults")
	}
}

func TestValidatePod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		item corev1.LimitRangeItem
		pod  *corev1.Pod
		want string
	}{
		{name: "within min and max", item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: rl("cpu", "100m"), Max: rl("cpu", "1")},
			pod: podWith(container("a", rl("cpu", "200m"), rl("cpu", "500m")))},
		{name: "below min", item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: rl("cpu", "100m")},
			pod: podWith(container("a", rl("cpu", "50m"), nil)), want: "minimum cpu usage per Container is 100m, but request is 50m"},
		{name: "no request against a min", item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: rl("memory", "1Mi")},
			pod: podWith(container("a", nil, nil)), want: "minimum memory usage per Container is 1Mi.  No request is specified"},
		{name: "above max", item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: rl("cpu", "1")},
			pod: podWith(container("a", nil, rl("cpu", "2"))), want: "maximum cpu usage per Container is 1, but limit is 2"},
		{name: "no limit against a max", item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: rl("cpu", "1")},
			pod: podWith(container("a", rl("cpu", "1"), nil)), want: "maximum cpu usage per Container is 1.  No limit is specified"},
		{name: "ratio exceeded", item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, MaxLimitRequestRatio: rl("cpu", "2")},
			pod:  podWith(container("a", rl("cpu", "100m"), rl("cpu", "500m"))),
			want: "cpu max limit to request ratio per Container is 2, but provided ratio is 5.000000"},
		{name: "pod totals against a Pod max", item: corev1.LimitRangeItem{Type: corev1.LimitTypePod, Max: rl("memory", "1Gi")},
			pod:  podWith(container("a", nil, rl("memory", "768Mi")), container("b", nil, rl("memory", "512Mi"))),
			want: "maximum memory usage per Pod is 1Gi, but limit is 1280Mi"},
		{name: "two errors are listed together", item: corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: rl("cpu", "1"), Max: rl("cpu", "1")},
			pod:  podWith(container("a", rl("cpu", "500m"), rl("cpu", "2"))),
			want: "[minimum cpu usage per Container is 1, but request is 500m, maximum cpu usage per Container is 1, but limit is 2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePod(tt.pod, []*corev1.LimitRange{limitRange(tt.item)})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ValidatePod\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidateClaim(t *testing.T) {
	t.Parallel()
	lr := limitRange(corev1.LimitRangeItem{Type: corev1.LimitTypePersistentVolumeClaim, Min: rl("storage", "1Gi"), Max: rl("storage", "10Gi")})
	claim := func(size string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", size)}}}
	}
	if err := ValidateClaim(claim("5Gi"), []*corev1.LimitRange{lr}); err != nil {
		t.Errorf("a claim in range: %v", err)
	}
	if err := ValidateClaim(claim("20Gi"), []*corev1.LimitRange{lr}); err == nil || err.Error() != "maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi" {
		t.Errorf("a claim too big: %v", err)
	}
}
