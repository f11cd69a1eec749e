package kubelet

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"capstan/internal/apiserver/registry/core"
)

// StaticPods turns the manifests of a static pod directory (file name -> content) into
// the pods the kubelet runs: named <name>-<node>, with upstream's defaults, bound to the
// node, tolerating NoExecute taints, and with a UID that is the hash of the manifest and
// the node, so the same manifest keeps its pod across restarts and a changed one gets a
// new pod. Files that are not a v1 Pod give an error each and no pod.
func StaticPods(files map[string][]byte, nodeName string, seen time.Time) ([]*corev1.Pod, []error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var pods []*corev1.Pod
	var errs []error
	taken := map[string]string{}
	for _, file := range names {
		data := files[file]
		var pod corev1.Pod
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(&pod); err != nil {
			errs = append(errs, fmt.Errorf("static pod %s: %w", file, err))
			continue
		}
		if pod.Kind != "Pod" || (pod.APIVersion != "v1" && pod.APIVersion != "") {
			errs = append(errs, fmt.Errorf("static pod %s: kind %s/%s is not a v1 Pod", file, pod.APIVersion, pod.Kind))
			continue
		}
		if pod.Name == "" {
			errs = append(errs, fmt.Errorf("static pod %s: metadata.name is required", file))
			continue
		}
		if pod.Namespace == "" {
			pod.Namespace = corev1.NamespaceDefault
		}
		sum := md5.Sum(append(append(append([]byte{}, data...), 0), nodeName...))
		uid := hex.EncodeToString(sum[:])
		pod.Name = pod.Name + "-" + strings.ToLower(nodeName)
		if prev, dup := taken[pod.Namespace+"/"+pod.Name]; dup {
			errs = append(errs, fmt.Errorf("static pod %s: %s/%s is already defined by %s", file, pod.Namespace, pod.Name, prev))
			continue
		}
		taken[pod.Namespace+"/"+pod.Name] = file
		pod.UID = types.UID(uid)
		pod.ResourceVersion, pod.Generation = "", 0
		pod.Spec.NodeName = nodeName
		pod.Status = corev1.PodStatus{}
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[annotationConfigSource] = "file"
		pod.Annotations[annotationConfigHash] = uid
		pod.Annotations[annotationConfigSeen] = seen.UTC().Format(time.RFC3339Nano)
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute})
		core.DefaultPod(&pod)
		pods = append(pods, &pod)
	}
	return pods, errs
}

// readManifests reads the manifest files of dir (hidden files skipped).
func readManifests(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		out[e.Name()] = data
	}
	return out, nil
}

// loadStaticPods reads the manifest directory and makes its pods the desired static pods.
func (k *Kubelet) loadStaticPods() {
	files, err := readManifests(k.opts.PodManifestPath)
	if err != nil {
		k.log.Warn("reading static pod manifests", "dir", k.opts.PodManifestPath, "err", err)
		return
	}
	pods, errs := StaticPods(files, k.opts.NodeName, k.clock.Now())
	for _, err := range errs {
		k.log.Warn("ignoring a static pod manifest", "err", err)
	}
	fresh := map[types.UID]*corev1.Pod{}
	for _, p := range pods {
		fresh[p.UID] = p
	}
	var changed []types.UID
	k.mu.Lock()
	for uid, p := range fresh {
		if _, ok := k.static[uid]; !ok {
			k.static[uid] = p
			k.pods[uid] = p
			changed = append(changed, uid)
		}
	}
	for uid := range k.static {
		if _, ok := fresh[uid]; !ok {
			delete(k.static, uid)
			delete(k.pods, uid)
			changed = append(changed, uid)
		}
	}
	k.mu.Unlock()
	for _, uid := range changed {
		k.kick(uid)
	}
	if len(changed) > 0 {
		k.kickMirrors()
	}
}

// staticPodLoop re-reads the manifest directory every 5 seconds.
func (k *Kubelet) staticPodLoop(ctx context.Context) {
	ticker := k.clock.NewTicker(5 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			k.loadStaticPods()
		}
	}
}
