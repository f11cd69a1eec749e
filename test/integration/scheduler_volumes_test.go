package integration

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func schLocalPV(t *testing.T, c kubernetes.Interface, name, node, class string, claim *corev1.ObjectReference) {
	t.Helper()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:       class,
			ClaimRef:               claim,
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/" + name}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
	if _, err := c.CoreV1().PersistentVolumes().Create(t.Context(), pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func schPVC(t *testing.T, c kubernetes.Interface, name, class, volume string) {
	t.Helper()
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &class,
			VolumeName:       volume,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if _, err := c.CoreV1().PersistentVolumeClaims("default").Create(t.Context(), pvc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func schPodWithClaim(name, claim string) *corev1.Pod {
	p := schPod(name, "", "")
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}}
	return p
}

func TestIntegrationSchedulerVolumes(t *testing.T) {
	s := start(t)
	c := s.Client
	for _, n := range []string{"n1", "n2", "n3"} {
		schNode(t, c, schNodeSpec{name: n})
	}
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	immediate := storagev1.VolumeBindingImmediate
	for name, mode := range map[string]*storagev1.VolumeBindingMode{"local": &wffc, "immediate": &immediate} {
		if _, err := c.StorageV1().StorageClasses().Create(t.Context(), &storagev1.StorageClass{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: mode,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// A claim bound to a local volume on n2: the pod goes to n2.
	schLocalPV(t, c, "pv-n2", "n2", "local", &corev1.ObjectReference{Namespace: "default", Name: "bound"})
	schPVC(t, c, "bound", "local", "pv-n2")
	schCreate(t, c, "default", schPodWithClaim("uses-bound", "bound"))
	if node := schWaitBound(t, c, "default", "uses-bound"); node != "n2" {
		t.Errorf("uses-bound on %s, want n2", node)
	}

	// An unbound WaitForFirstConsumer claim: only n3 has an available volume of its class.
	schLocalPV(t, c, "pv-n3", "n3", "local", nil)
	schPVC(t, c, "delayed", "local", "")
	schCreate(t, c, "default", schPodWithClaim("uses-delayed", "delayed"))
	if node := schWaitBound(t, c, "default", "uses-delayed"); node != "n3" {
		t.Errorf("uses-delayed on %s, want n3", node)
	}

	// An unbound Immediate claim waits for the volume binder.
	schPVC(t, c, "waiting", "immediate", "")
	schCreate(t, c, "default", schPodWithClaim("uses-waiting", "waiting"))
	if msg := schWaitUnschedulable(t, c, "default", "uses-waiting"); msg != "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling." {
		t.Errorf("uses-waiting: message %q", msg)
	}

	// A missing claim.
	schCreate(t, c, "default", schPodWithClaim("uses-missing", "missing"))
	if msg := schWaitUnschedulable(t, c, "default", "uses-missing"); msg != `0/3 nodes are available: persistentvolumeclaim "missing" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.` {
		t.Errorf("uses-missing: message %q", msg)
	}
}
