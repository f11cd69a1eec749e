package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Annotations of static and mirror pods, as upstream names them.
const (
	annotationConfigSource = "kubernetes.io/config.source"
	annotationConfigHash   = "kubernetes.io/config.hash"
	annotationConfigSeen   = "kubernetes.io/config.seen"
	annotationConfigMirror = "kubernetes.io/config.mirror"
)

type metav1ListOptions = metav1.ListOptions

func isStatic(pod *corev1.Pod) bool {
	src := pod.Annotations[annotationConfigSource]
	return src != "" && src != "api"
}

func isMirror(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[annotationConfigMirror]
	return ok
}

// podChanged takes a pod from the API informer.
func (k *Kubelet) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if isMirror(pod) {
		uid := types.UID(pod.Annotations[annotationConfigMirror])
		k.mu.Lock()
		k.mirrors[uid] = pod
		k.mu.Unlock()
		k.kick(uid)
		k.kickMirrors()
		return
	}
	k.mu.Lock()
	k.pods[pod.UID] = pod
	k.mu.Unlock()
	k.kick(pod.UID)
}

// podDeleted takes a deletion from the API informer.
func (k *Kubelet) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if isMirror(pod) {
		uid := types.UID(pod.Annotations[annotationConfigMirror])
		k.mu.Lock()
		if m := k.mirrors[uid]; m != nil && m.UID == pod.UID {
			delete(k.mirrors, uid)
		}
		k.mu.Unlock()
		k.kickMirrors()
		return
	}
	k.mu.Lock()
	if p := k.pods[pod.UID]; p != nil && !isStatic(p) {
		delete(k.pods, pod.UID)
	}
	delete(k.posted, pod.UID)
	k.mu.Unlock()
	k.kick(pod.UID)
}

// relistLoop lists the runtime's sandboxes and containers every RelistPeriod and kicks
// the worker of every pod whose state changed, including pods the kubelet does not know
// (left over from pods deleted while it was down), which their workers then remove.
func (k *Kubelet) relistLoop(ctx context.Context) {
	last := map[types.UID]string{}
	ticker := k.clock.NewTicker(k.opts.RelistPeriod)
	defer ticker.Stop()
	sweep := k.clock.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		current, err := k.relist(ctx)
		if err == nil {
			for uid, fp := range current {
				if last[uid] != fp {
					k.kick(uid)
				}
			}
			for uid := range last {
				if _, ok := current[uid]; !ok {
					k.kick(uid)
				}
			}
			last = current
		} else if ctx.Err() == nil {
			k.log.Warn("listing the runtime", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		case <-sweep.C():
			k.sweepCgroups()
		}
	}
}

// relist fingerprints the runtime state of every pod.
func (k *Kubelet) relist(ctx context.Context) (map[types.UID]string, error) {
	sbs, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, err
	}
	cs, err := k.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, err
	}
	out := map[types.UID]string{}
	for _, sb := range sbs.Items {
		uid := types.UID(sb.Labels[labelPodUID])
		if uid == "" {
			continue
		}
		out[uid] += "s" + sb.Id + sb.State.String() + ";"
	}
	for _, c := range cs.Containers {
		uid := types.UID(c.Labels[labelPodUID])
		if uid == "" {
			continue
		}
		out[uid] += "c" + c.Id + c.State.String() + ";"
	}
	k.mu.Lock()
	k.relisted = k.clock.Now()
	k.mu.Unlock()
	return out, nil
}

// kickMirrors asks the mirror loop to look at once.
func (k *Kubelet) kickMirrors() {
	select {
	case k.mirrorKick <- struct{}{}:
	default:
	}
}

// mirrorLoop keeps one mirror pod in the API per static pod, and no other.
func (k *Kubelet) mirrorLoop(ctx context.Context) {
	ticker := k.clock.NewTicker(5 * time.Second)
	defer ticker.Stop()
	for {
		k.syncMirrors(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		case <-k.mirrorKick:
		}
	}
}

func (k *Kubelet) syncMirrors(ctx context.Context) {
	k.mu.Lock()
	var create []*corev1.Pod
	var remove []*corev1.Pod
	for uid, sp := range k.static {
		m := k.mirrors[uid]
		if m == nil {
			create = append(create, sp.DeepCopy())
		}
	}
	for uid, m := range k.mirrors {
		if _, ok := k.static[uid]; !ok && m.DeletionTimestamp == nil {
			remove = append(remove, m)
		}
	}
	node := k.node
	k.mu.Unlock()
	zero := int64(0)
	for _, m := range remove {
		uid := m.UID
		err := k.client.CoreV1().Pods(m.Namespace).Delete(ctx, m.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
			k.log.Warn("deleting an orphaned mirror pod", "pod", podRef(m), "err", err)
		}
	}
	for _, sp := range create {
		mirror := mirrorPodFor(sp, node)
		_, err := k.client.CoreV1().Pods(mirror.Namespace).Create(ctx, mirror, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			// An outdated mirror (of an earlier version of the manifest) holds the name.
			old, gerr := k.client.CoreV1().Pods(mirror.Namespace).Get(ctx, mirror.Name, metav1.GetOptions{})
			if gerr == nil && old.Annotations[annotationConfigMirror] != string(sp.UID) && old.DeletionTimestamp == nil {
				uid := old.UID
				_ = k.client.CoreV1().Pods(old.Namespace).Delete(ctx, old.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}})
			}
			continue
		}
		if err != nil && ctx.Err() == nil {
			k.log.Warn("creating a mirror pod", "pod", podRef(mirror), "err", err)
		}
	}
}

// mirrorPodFor is the API copy of a static pod: the same spec, owned by the Node.
func mirrorPodFor(sp *corev1.Pod, node *corev1.Node) *corev1.Pod {
	m := sp.DeepCopy()
	m.UID, m.ResourceVersion, m.Status = "", "", corev1.PodStatus{}
	m.Annotations[annotationConfigMirror] = string(sp.UID)
	if node != nil {
		controller := true
		m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &controller}}
	}
	return m
}
