package volume

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"capstan/internal/kubelet/envvars"
	"capstan/internal/kubelet/podspec"
)

// Plugin directory names, as upstream lays them out.
const (
	emptyDirPlugin  = "kubernetes.io~empty-dir"
	configMapPlugin = "kubernetes.io~configmap"
	secretPlugin    = "kubernetes.io~secret"
	downwardPlugin  = "kubernetes.io~downward-api"
	projectedPlugin = "kubernetes.io~projected"
)

// Mounter mounts and unmounts tmpfs file systems.
type Mounter interface {
	MountTmpfs(dir string, sizeBytes int64) error
	Unmount(dir string) error
	IsMountPoint(dir string) bool
}

// Options configures a Manager.
type Options struct {
	// RootDir is the pods directory: <RootDir>/<uid>/volumes/... Required.
	RootDir string
	// Client reads ConfigMaps, Secrets, PVCs and PVs and requests service account tokens.
	Client kubernetes.Interface
	// Mounter. Default: mount(2).
	Mounter Mounter
	// Allocatable is the node's allocatable resources (downward API limits, tmpfs size).
	Allocatable func() corev1.ResourceList
	// PodIPs and HostIPs of a pod, for downward API files.
	PodInfo func(*corev1.Pod) envvars.PodInfo
	Logger  *slog.Logger
}

// Manager sets up and tears down the volumes of pods.
type Manager struct {
	opts Options

	mu     sync.Mutex
	tokens map[string]cachedToken
	warned map[string]bool
}

type cachedToken struct {
	token   string
	refresh time.Time
}

// NewManager returns a Manager.
func NewManager(opts Options) *Manager {
	if opts.Mounter == nil {
		opts.Mounter = SyscallMounter{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Allocatable == nil {
		opts.Allocatable = func() corev1.ResourceList { return nil }
	}
	if opts.PodInfo == nil {
		opts.PodInfo = func(*corev1.Pod) envvars.PodInfo { return envvars.PodInfo{} }
	}
	return &Manager{opts: opts, tokens: map[string]cachedToken{}, warned: map[string]bool{}}
}

// Error is a volume that cannot be set up; its message follows upstream's FailedMount
// events: MountVolume.SetUp failed for volume "x" : <why>.
type Error struct {
	Volume string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Setup makes every volume of the pod ready (and refreshes the content of configMap,
// secret, downwardAPI and projected volumes) and returns the host path of each by name.
func (m *Manager) Setup(ctx context.Context, pod *corev1.Pod) (map[string]string, error) {
	out := map[string]string{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		path, err := m.setup(ctx, pod, v)
		if err != nil {
			return nil, &Error{Volume: v.Name, Err: err}
		}
		out[v.Name] = path
	}
	return out, nil
}

func (m *Manager) dir(pod *corev1.Pod, plugin, name string) string {
	return filepath.Join(m.opts.RootDir, string(pod.UID), "volumes", plugin, name)
}

func fsGroup(pod *corev1.Pod) int {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		return int(*sc.FSGroup)
	}
	return -1
}

func (m *Manager) setup(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (string, error) {
	src := v.VolumeSource
	switch {
	case src.EmptyDir != nil:
		return m.emptyDir(pod, v.Name, src.EmptyDir)
	case src.HostPath != nil:
		return src.HostPath.Path, checkHostPath(src.HostPath)
	case src.ConfigMap != nil:
		payload, err := m.configMapPayload(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.DefaultMode, src.ConfigMap.Optional)
		if err != nil {
			return "", err
		}
		return m.write(pod, configMapPlugin, v.Name, payload, false)
	case src.Secret != nil:
		payload, err := m.secretPayload(ctx, pod.Namespace, src.Secret.SecretName, src.Secret.Items, src.Secret.DefaultMode, src.Secret.Optional)
		if err != nil {
			return "", err
		}
		return m.write(pod, secretPlugin, v.Name, payload, true)
	case src.DownwardAPI != nil:
		payload, err := m.downwardPayload(pod, src.DownwardAPI.Items, src.DownwardAPI.DefaultMode)
		if err != nil {
			return "", err
		}
		return m.write(pod, downwardPlugin, v.Name, payload, false)
	case src.Projected != nil:
		payload, err := m.projectedPayload(ctx, pod, v.Name, src.Projected)
		if err != nil {
			return "", err
		}
		return m.write(pod, projectedPlugin, v.Name, payload, true)
	case src.PersistentVolumeClaim != nil:
		return m.claimPath(ctx, pod.Namespace, src.PersistentVolumeClaim.ClaimName)
	}
	return "", errors.New("unsupported volume type on this node")
}

func (m *Manager) emptyDir(pod *corev1.Pod, name string, ed *corev1.EmptyDirVolumeSource) (string, error) {
	dir := m.dir(pod, emptyDirPlugin, name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	if ed.Medium == corev1.StorageMediumMemory && !m.opts.Mounter.IsMountPoint(dir) {
		size := int64(0)
		if ed.SizeLimit != nil && !ed.SizeLimit.IsZero() {
			size = ed.SizeLimit.Value()
		} else if mem, ok := m.opts.Allocatable()[corev1.ResourceMemory]; ok {
			size = mem.Value()
		}
		if err := m.opts.Mounter.MountTmpfs(dir, size); err != nil {
			return "", fmt.Errorf("mounting tmpfs: %w", err)
		}
	}
	if gid := fsGroup(pod); gid >= 0 {
		_ = os.Chown(dir, -1, gid)
		_ = os.Chmod(dir, 0o777|os.ModeSetgid)
	} else {
		_ = os.Chmod(dir, 0o777)
	}
	return dir, nil
}

// write puts a payload into the volume's directory, on tmpfs for secrets.
func (m *Manager) write(pod *corev1.Pod, plugin, name string, payload map[string]File, tmpfs bool) (string, error) {
	dir := m.dir(pod, plugin, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if tmpfs && !m.opts.Mounter.IsMountPoint(dir) {
		if err := m.opts.Mounter.MountTmpfs(dir, 0); err != nil {
			m.opts.Logger.Debug("secret volume on disk: no tmpfs", "dir", dir, "err", err)
		}
	}
	if _, err := WriteAtomic(dir, payload, fsGroup(pod)); err != nil {
		return "", err
	}
	return dir, nil
}

func modeOf(itemMode, defaultMode *int32, fallback os.FileMode) os.FileMode {
	switch {
	case itemMode != nil:
		return os.FileMode(*itemMode)
	case defaultMode != nil:
		return os.FileMode(*defaultMode)
	}
	return fallback
}

const defaultFileMode = 0o644

// keyPayload turns the data of a ConfigMap or Secret into files: every key, or the
// listed items; missing names the error for a listed key that is not there.
func keyPayload(data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, missing func(key string) error) (map[string]File, error) {
	out := map[string]File{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = File{Data: v, Mode: modeOf(nil, defaultMode, defaultFileMode)}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			return nil, missing(it.Key)
		}
		out[it.Path] = File{Data: v, Mode: modeOf(it.Mode, defaultMode, defaultFileMode)}
	}
	return out, nil
}

func (m *Manager) configMapPayload(ctx context.Context, ns, name string, items []corev1.KeyToPath, defaultMode *int32, optional *bool) (map[string]File, error) {
	cm, err := m.opts.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			if optional != nil && *optional {
				return map[string]File{}, nil
			}
			return nil, fmt.Errorf("configmap %q not found", name)
		}
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return keyPayload(data, items, defaultMode, func(key string) error {
		return fmt.Errorf("configmap references non-existent config key: %s", key)
	})
}

func (m *Manager) secretPayload(ctx context.Context, ns, name string, items []corev1.KeyToPath, defaultMode *int32, optional *bool) (map[string]File, error) {
	s, err := m.opts.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			if optional != nil && *optional {
				return map[string]File{}, nil
			}
			return nil, fmt.Errorf("secret %q not found", name)
		}
		return nil, err
	}
	return keyPayload(s.Data, items, defaultMode, func(key string) error {
		return fmt.Errorf("references non-existent secret key: %s", key)
	})
}

func (m *Manager) downwardPayload(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, defaultMode *int32) (map[string]File, error) {
	info := m.opts.PodInfo(pod)
	info.Allocatable = m.opts.Allocatable()
	out := map[string]File{}
	for _, it := range items {
		var value string
		var err error
		switch {
		case it.FieldRef != nil:
			value, err = envvars.FieldValue(pod, it.FieldRef.FieldPath, info)
		case it.ResourceFieldRef != nil:
			c := podspec.Container(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, fmt.Errorf("container %q not found", it.ResourceFieldRef.ContainerName)
			}
			value, err = envvars.ResourceValue(it.ResourceFieldRef, c, info.Allocatable)
		}
		if err != nil {
			return nil, err
		}
		out[it.Path] = File{Data: []byte(value), Mode: modeOf(it.Mode, defaultMode, defaultFileMode)}
	}
	return out, nil
}

func (m *Manager) projectedPayload(ctx context.Context, pod *corev1.Pod, volName string, p *corev1.ProjectedVolumeSource) (map[string]File, error) {
	out := map[string]File{}
	merge := func(files map[string]File) {
		for k, v := range files {
			out[k] = v
		}
	}
	for _, s := range p.Sources {
		switch {
		case s.ConfigMap != nil:
			files, err := m.configMapPayload(ctx, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, p.DefaultMode, s.ConfigMap.Optional)
			if err != nil {
				return nil, err
			}
			merge(files)
		case s.Secret != nil:
			files, err := m.secretPayload(ctx, pod.Namespace, s.Secret.Name, s.Secret.Items, p.DefaultMode, s.Secret.Optional)
			if err != nil {
				return nil, err
			}
			merge(files)
		case s.DownwardAPI != nil:
			files, err := m.downwardPayload(pod, s.DownwardAPI.Items, p.DefaultMode)
			if err != nil {
				return nil, err
			}
			merge(files)
		case s.ServiceAccountToken != nil:
			if tok, ok := m.token(ctx, pod, volName, s.ServiceAccountToken); ok {
				mode := modeOf(nil, p.DefaultMode, defaultFileMode)
				out[s.ServiceAccountToken.Path] = File{Data: []byte(tok), Mode: mode}
			}
		}
	}
	return out, nil
}

// token requests a bound service account token through the TokenRequest API and keeps
// it until 80% of its life has passed. Without that API the file is left out (the pod
// runs without a token) and a warning is logged once.
func (m *Manager) token(ctx context.Context, pod *corev1.Pod, volName string, src *corev1.ServiceAccountTokenProjection) (string, bool) {
	key := string(pod.UID) + "/" + volName + "/" + src.Path
	m.mu.Lock()
	cached, ok := m.tokens[key]
	m.mu.Unlock()
	if ok && time.Now().Before(cached.refresh) {
		return cached.token, true
	}
	expiry := int64(3607)
	if src.ExpirationSeconds != nil {
		expiry = *src.ExpirationSeconds
	}
	var audiences []string
	if src.Audience != "" {
		audiences = []string{src.Audience}
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr, err := m.opts.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences: audiences, ExpirationSeconds: &expiry,
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		m.mu.Lock()
		if !m.warned[key] {
			m.warned[key] = true
			m.opts.Logger.Warn("no service account token for a projected volume: the TokenRequest API failed", "pod", pod.Namespace+"/"+pod.Name, "volume", volName, "err", err)
		}
		m.mu.Unlock()
		if ok {
			return cached.token, true
		}
		return "", false
	}
	life := time.Until(tr.Status.ExpirationTimestamp.Time)
	m.mu.Lock()
	m.tokens[key] = cachedToken{token: tr.Status.Token, refresh: time.Now().Add(life * 8 / 10)}
	m.mu.Unlock()
	return tr.Status.Token, true
}

// claimPath resolves a claim to the path of its hostPath or local PersistentVolume.
func (m *Manager) claimPath(ctx context.Context, ns, claim string) (string, error) {
	pvc, err := m.opts.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("persistentvolumeclaim %q not found", claim)
		}
		return "", err
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("persistentvolumeclaim %q is not bound", claim)
	}
	pv, err := m.opts.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	switch {
	case pv.Spec.HostPath != nil:
		if err := checkHostPath(pv.Spec.HostPath); err != nil {
			return "", err
		}
		return pv.Spec.HostPath.Path, nil
	case pv.Spec.Local != nil:
		if _, err := os.Stat(pv.Spec.Local.Path); err != nil {
			return "", fmt.Errorf("local volume %s: %w", pv.Name, err)
		}
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("persistentvolume %s: only hostPath and local volumes are supported on this node", pv.Name)
}

// TearDown unmounts and removes every volume of the pod, and the pod's directory.
func (m *Manager) TearDown(_ context.Context, uid types.UID) error {
	podDir := filepath.Join(m.opts.RootDir, string(uid))
	volumes := filepath.Join(podDir, "volumes")
	plugins, _ := os.ReadDir(volumes)
	for _, p := range plugins {
		vols, _ := os.ReadDir(filepath.Join(volumes, p.Name()))
		for _, v := range vols {
			dir := filepath.Join(volumes, p.Name(), v.Name())
			if m.opts.Mounter.IsMountPoint(dir) {
				if err := m.opts.Mounter.Unmount(dir); err != nil {
					return fmt.Errorf("unmounting %s: %w", dir, err)
				}
			}
		}
	}
	m.mu.Lock()
	prefix := string(uid) + "/"
	for k := range m.tokens {
		if strings.HasPrefix(k, prefix) {
			delete(m.tokens, k)
		}
	}
	for k := range m.warned {
		if strings.HasPrefix(k, prefix) {
			delete(m.warned, k)
		}
	}
	m.mu.Unlock()
	return os.RemoveAll(podDir)
}

// checkHostPath enforces a hostPath's type, creating it for the *OrCreate types.
func checkHostPath(hp *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	st, err := os.Stat(hp.Path)
	exists := err == nil
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(hp.Path, 0o755); err != nil {
				return err
			}
			return nil
		}
		if !st.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", hp.Path)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			if err := os.MkdirAll(filepath.Dir(hp.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(hp.Path, os.O_CREATE|os.O_RDONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if st.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", hp.Path)
		}
	case corev1.HostPathDirectory:
		if !exists || !st.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", hp.Path)
		}
	case corev1.HostPathFile:
		if !exists || !st.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", hp.Path)
		}
	case corev1.HostPathSocket:
		if !exists || st.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", hp.Path)
		}
	case corev1.HostPathCharDev:
		if !exists || st.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", hp.Path)
		}
	case corev1.HostPathBlockDev:
		if !exists || st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", hp.Path)
		}
	}
	return nil
}

// SyscallMounter mounts with mount(2) and reads /proc/self/mountinfo.
type SyscallMounter struct{}

// MountTmpfs mounts a tmpfs of sizeBytes (0: the kernel's default) on dir.
func (SyscallMounter) MountTmpfs(dir string, sizeBytes int64) error {
	opts := ""
	if sizeBytes > 0 {
		opts = fmt.Sprintf("size=%d", sizeBytes)
	}
	return syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts)
}

// Unmount unmounts dir (lazily, so a busy mount does not block the pod's removal).
func (SyscallMounter) Unmount(dir string) error {
	return syscall.Unmount(dir, syscall.MNT_DETACH)
}

// IsMountPoint tells whether dir is a mount point.
func (SyscallMounter) IsMountPoint(dir string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	clean := filepath.Clean(dir)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == clean {
			return true
		}
	}
	return false
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// UnmountAll unmounts every mount point under dir (the pods directory of a kubelet whose
// pods were all removed), deepest first.
func UnmountAll(dir string, m Mounter) error {
	if m == nil {
		m = SyscallMounter{}
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 {
			if p := unescapeMount(fields[4]); strings.HasPrefix(p, prefix) {
				points = append(points, p)
			}
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := m.Unmount(p); err != nil {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// OverLimit reports the first disk-backed emptyDir of the pod whose content exceeds its
// sizeLimit, as upstream's eviction message says it, or "" when none does. (Memory-backed
// ones are bounded by their tmpfs size instead.)
func (m *Manager) OverLimit(pod *corev1.Pod) string {
	for _, v := range pod.Spec.Volumes {
		ed := v.EmptyDir
		if ed == nil || ed.SizeLimit == nil || ed.SizeLimit.IsZero() || ed.Medium == corev1.StorageMediumMemory {
			continue
		}
		if diskUsage(m.dir(pod, emptyDirPlugin, v.Name)) > ed.SizeLimit.Value() {
			return fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q. ", v.Name, ed.SizeLimit.String())
		}
	}
	return ""
}

// diskUsage adds up the allocated size of the files under dir.
func diskUsage(dir string) int64 {
	var total int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total
}
