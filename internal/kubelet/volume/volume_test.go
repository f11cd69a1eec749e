package volume

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	changed, err := WriteAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o600}}, -1)
	if err != nil || !changed {
		t.Fatalf("first write: %v %v", changed, err)
	}
	if read(t, filepath.Join(dir, "a")) != "1" || read(t, filepath.Join(dir, "sub", "b")) != "2" {
		t.Fatal("content not visible through the links")
	}
	if link, _ := os.Readlink(filepath.Join(dir, "a")); link != "..data/a" {
		t.Fatalf("a -> %q; want ..data/a", link)
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))
	if changed, _ := WriteAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o600}}, -1); changed {
		t.Fatal("rewriting the same payload changed the volume")
	}
	if changed, err := WriteAtomic(dir, map[string]File{"a": {Data: []byte("one"), Mode: 0o644}}, -1); err != nil || !changed {
		t.Fatalf("update: %v %v", changed, err)
	}
	if read(t, filepath.Join(dir, "a")) != "one" {
		t.Fatal("update not visible")
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Fatal("a path dropped from the payload is still there")
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Fatal("the previous version's directory was not removed")
	}
	if _, err := WriteAtomic(dir, map[string]File{"../escape": {Data: []byte("x")}}, -1); err == nil {
		t.Fatal("a path out of the volume was accepted")
	}
}

type fakeMounter struct{ mounted map[string]int64 }

func (f *fakeMounter) MountTmpfs(dir string, size int64) error { f.mounted[dir] = size; return nil }
func (f *fakeMounter) Unmount(dir string) error                { delete(f.mounted, dir); return nil }
func (f *fakeMounter) IsMountPoint(dir string) bool            { _, ok := f.mounted[dir]; return ok }

func TestSetupAndTearDown(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	client := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"k": "v", "other": "o"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"pw": []byte("x")}},
	)
	mounter := &fakeMounter{mounted: map[string]int64{}}
	m := NewManager(Options{RootDir: root, Client: client, Mounter: mounter})
	mode := int32(0o400)
	limit := resource.MustParse("16Mi")
	hostDir := filepath.Join(t.TempDir(), "created")
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: []corev1.KeyToPath{{Key: "k", Path: "dir/k", Mode: &mode}}}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
			{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &limit}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir, Type: &dirOrCreate}}},
		}},
	}
	paths, err := m.Setup(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(paths["cm"], "dir", "k")) != "v" || read(t, filepath.Join(paths["sec"], "pw")) != "x" || read(t, filepath.Join(paths["info"], "labels")) != `a="b"` {
		t.Fatal("volume content wrong")
	}
	if st, _ := os.Stat(filepath.Join(paths["cm"], "dir", "k")); st.Mode().Perm() != 0o400 {
		t.Fatalf("item mode = %v", st.Mode())
	}
	if _, err := os.Stat(filepath.Join(paths["cm"], "other")); !os.IsNotExist(err) {
		t.Fatal("a key not in items was written")
	}
	if size, ok := mounter.mounted[paths["mem"]]; !ok || size != 16<<20 {
		t.Fatalf("memory emptyDir mounts = %v", mounter.mounted)
	}
	if _, ok := mounter.mounted[paths["sec"]]; !ok {
		t.Fatal("the secret volume is not on tmpfs")
	}
	if paths["host"] != hostDir {
		t.Fatalf("hostPath = %s", paths["host"])
	}
	if st, err := os.Stat(hostDir); err != nil || !st.IsDir() {
		t.Fatal("DirectoryOrCreate did not create the directory")
	}
	if err := m.TearDown(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	if len(mounter.mounted) != 0 {
		t.Fatalf("left mounted: %v", mounter.mounted)
	}
	if _, err := os.Stat(filepath.Join(root, "u1")); !os.IsNotExist(err) {
		t.Fatal("the pod directory is still there")
	}
}

func TestSetupErrors(t *testing.T) {
	t.Parallel()
	yes := true
	file := corev1.HostPathFile
	client := fake.NewClientset(&corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "ns"},
	})
	m := NewManager(Options{RootDir: t.TempDir(), Client: client, Mounter: &fakeMounter{mounted: map[string]int64{}}})
	for _, tc := range []struct {
		vol  corev1.VolumeSource
		want string
	}{
		{corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}}, `MountVolume.SetUp failed for volume "v" : configmap "gone" not found`},
		{corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "gone"}}, `secret "gone" not found`},
		{corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/nonexistent/file", Type: &file}}, "is not a file"},
		{corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "pending"}}, "is not bound"},
		{corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "x", Path: "/"}}, "unsupported volume type"},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "v", VolumeSource: tc.vol}}}}
		if _, err := m.Setup(context.Background(), pod); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Setup error = %v; want %q", err, tc.want)
		}
	}
	optional := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u2"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "v", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: &yes}}},
	}}}
	if _, err := m.Setup(context.Background(), optional); err != nil {
		t.Fatalf("an optional missing ConfigMap failed: %v", err)
	}
}
