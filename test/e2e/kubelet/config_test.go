package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	capstantesting "capstan/internal/testing"
	"capstan/test/e2e/framework"
)

// TestPodConfiguration covers what a pod is given: environment, volumes of every kind, and
// its name-resolution files.
func TestPodConfiguration(t *testing.T) {
	ctx := context.Background()
	// The service exists before the kubelet starts, so the pods' service variables do not
	// depend on how fast its informer is.
	n := startNode(t, framework.BeforeAgent(func(s *capstantesting.Server) {
		if _, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "my-db"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432, Protocol: corev1.ProtocolTCP}}, Selector: map[string]string{"app": "db"}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}))
	cms := n.Client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data:       map[string]string{"mode": "fast", "file.txt": "v1"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data:       map[string][]byte{"password": []byte("s3cret")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("env and volumes come from ConfigMaps, Secrets and the downward API, and updates reach the pod", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		hostDir := filepath.Join(t.TempDir(), "made-by-kubelet")
		dirOrCreate := corev1.HostPathDirectoryOrCreate
		secretMode, fileMode := int32(0o400), int32(0o600)
		pod := n.BusyboxPod("config", "sleep", "600")
		pod.Labels = map[string]string{"app": "config"}
		c := &pod.Spec.Containers[0]
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
		c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
		c.Env = []corev1.EnvVar{
			{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "GREETING", Value: "mode is $(MODE)"},
		}
		c.VolumeMounts = []corev1.VolumeMount{
			{Name: "cm", MountPath: "/etc/cm"}, {Name: "secret", MountPath: "/etc/secret"},
			{Name: "podinfo", MountPath: "/etc/podinfo"}, {Name: "projected", MountPath: "/etc/projected"},
			{Name: "mem", MountPath: "/scratch"}, {Name: "host", MountPath: "/host"},
		}
		pod.Spec.Volumes = []corev1.Volume{
			{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
				Items:                []corev1.KeyToPath{{Key: "file.txt", Path: "sub/file.txt", Mode: &fileMode}},
			}}},
			{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds", DefaultMode: &secretMode}}},
			{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			}}}},
			{Name: "projected", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "mode", Path: "mode"}}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
			}}}},
			{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir, Type: &dirOrCreate}}},
		}
		n.CreatePod(pod)
		got := n.WaitForReady(pod)
		env, _ := n.ExecSync(got, "main", "env")
		for _, want := range []string{"MODE=fast", "PASSWORD=s3cret", "POD_NAME=config", "POD_IP=" + got.Status.PodIP, "MEM_MI=64", "GREETING=mode is fast", "CFG_mode=fast", "KUBERNETES_SERVICE_HOST=10.43.0.1"} {
			if !strings.Contains(env, want+"\n") {
				t.Errorf("env lacks %s:\n%s", want, env)
			}
		}
		for cmd, want := range map[string]string{
			"cat /etc/cm/sub/file.txt":                    "v1",
			"stat -L -c %a /etc/cm/sub/file.txt":          "600",
			"cat /etc/secret/password":                    "s3cret",
			"stat -L -c %a /etc/secret/password":          "400",
			"cat /etc/podinfo/labels":                     `app="config"`,
			"cat /etc/projected/mode /etc/projected/name": "fastconfig",
			"grep ' /scratch ' /proc/mounts":              "tmpfs",
			"touch /host/written && echo ok":              "ok",
		} {
			if out, _ := n.ExecSync(got, "main", "sh", "-c", cmd); !strings.Contains(out, want) {
				t.Errorf("%s = %q; want %q", cmd, out, want)
			}
		}
		if _, err := os.Stat(filepath.Join(hostDir, "written")); err != nil {
			t.Errorf("hostPath volume: %v", err)
		}
		cm, err := cms.Get(ctx, "cfg", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["file.txt"] = "v2"
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		framework.Eventually(t, 60*time.Second, "the ConfigMap update in the pod", func() (bool, error) {
			out, _ := n.ExecSync(got, "main", "cat", "/etc/cm/sub/file.txt")
			return out == "v2", nil
		})
	})

	t.Run("a missing ConfigMap key leaves the container waiting with CreateContainerConfigError", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("missingkey", "sleep", "600")
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "nope"}}}}
		n.CreatePod(pod)
		n.WaitForPod(pod, 60*time.Second, "CreateContainerConfigError", func(p *corev1.Pod) bool {
			if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
				return false
			}
			w := p.Status.ContainerStatuses[0].State.Waiting
			return w.Reason == "CreateContainerConfigError" && w.Message == "couldn't find key nope in ConfigMap default/cfg"
		})
	})

	t.Run("a claim bound to a hostPath volume is mounted", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "data"), []byte("persisted"), 0o644); err != nil {
			t.Fatal(err)
		}
		pvs, pvcs := n.Client.CoreV1().PersistentVolumes(), n.Client.CoreV1().PersistentVolumeClaims("default")
		size := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
		pv, err := pvs.Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "pv-" + n.NodeName},
			Spec: corev1.PersistentVolumeSpec{
				Capacity: size, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pvc, err := pvcs.Create(ctx, &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "claim"},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeName: pv.Name,
				Resources: corev1.VolumeResourceRequirements{Requests: size},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// No volume binder runs in this test's control plane: bind the claim by hand.
		pvc.Status.Phase = corev1.ClaimBound
		if _, err := pvcs.UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := n.BusyboxPod("withclaim", "sh", "-c", "cat /data/data; echo; sleep 600")
		pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}}}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		n.CreatePod(pod)
		got := n.WaitForReady(pod)
		n.WaitForLog(got, "main", "persisted\n")
	})

	t.Run("resolv.conf, /etc/hosts and service variables follow the pod's DNS settings", func(t *testing.T) {
		t.Parallel()
		n := n.For(t)
		pod := n.BusyboxPod("dnsfiles", "sleep", "600")
		pod.Spec.Hostname, pod.Spec.Subdomain = "web-0", "web"
		pod.Spec.HostAliases = []corev1.HostAlias{{IP: "192.0.2.99", Hostnames: []string{"db.local", "cache.local"}}}
		n.CreatePod(pod)
		got := n.WaitForReady(pod)
		resolv, _ := n.ExecSync(got, "main", "cat", "/etc/resolv.conf")
		for _, want := range []string{"search default.svc.cluster.local svc.cluster.local cluster.local", "nameserver 10.43.0.10", "options ndots:5"} {
			if !strings.Contains(resolv, want) {
				t.Errorf("resolv.conf lacks %q:\n%s", want, resolv)
			}
		}
		hosts, _ := n.ExecSync(got, "main", "cat", "/etc/hosts")
		for _, want := range []string{got.Status.PodIP + "\tweb-0.web.default.svc.cluster.local\tweb-0", "192.0.2.99\tdb.local\tcache.local"} {
			if !strings.Contains(hosts, want) {
				t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
			}
		}
		if out, _ := n.ExecSync(got, "main", "hostname"); strings.TrimSpace(out) != "web-0" {
			t.Errorf("hostname = %q", out)
		}
		env, _ := n.ExecSync(got, "main", "env")
		if !strings.Contains(env, "MY_DB_PORT=tcp://") || !strings.Contains(env, "MY_DB_SERVICE_PORT=5432") {
			t.Errorf("service variables missing:\n%s", env)
		}
	})
}
