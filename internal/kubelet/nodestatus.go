package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// NodeStatusInput is what the node status is computed from.
type NodeStatusInput struct {
	Machine  Machine
	Capacity corev1.ResourceList
	// Allocatable is capacity less reservations and eviction thresholds.
	Allocatable    corev1.ResourceList
	Addresses      []corev1.NodeAddress
	RuntimeVersion string // e.g. containerd://1.6.20
	KubeletVersion string
	Port           int32
	// RuntimeReady and NetworkReady come from the runtime's status; their messages say why not.
	RuntimeReady, NetworkReady bool
	NotReadyMessage            string
	Images                     []corev1.ContainerImage
	// Old is the node's current status (conditions keep their transition times).
	Old corev1.NodeStatus
	Now metav1.Time
}

// NodeStatus computes a node's status as upstream's kubelet reports it.
func NodeStatus(in NodeStatusInput) corev1.NodeStatus {
	s := corev1.NodeStatus{
		Capacity:    in.Capacity,
		Allocatable: in.Allocatable,
		Addresses:   in.Addresses,
		Phase:       "",
		DaemonEndpoints: corev1.NodeDaemonEndpoints{
			KubeletEndpoint: corev1.DaemonEndpoint{Port: in.Port},
		},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID: in.Machine.MachineID, SystemUUID: in.Machine.SystemUUID, BootID: in.Machine.BootID,
			KernelVersion: in.Machine.KernelVersion, OSImage: in.Machine.OSImage,
			ContainerRuntimeVersion: in.RuntimeVersion, KubeletVersion: in.KubeletVersion, KubeProxyVersion: in.KubeletVersion,
			OperatingSystem: "linux", Architecture: in.Machine.Architecture,
		},
		Images:          in.Images,
		VolumesInUse:    in.Old.VolumesInUse,
		VolumesAttached: in.Old.VolumesAttached,
		Config:          in.Old.Config,
		RuntimeHandlers: []corev1.NodeRuntimeHandler{{Name: "", Features: &corev1.NodeRuntimeHandlerFeatures{}}, {Name: "runc", Features: &corev1.NodeRuntimeHandlerFeatures{}}},
	}
	old := map[corev1.NodeConditionType]corev1.NodeCondition{}
	for _, c := range in.Old.Conditions {
		old[c.Type] = c
	}
	cond := func(t corev1.NodeConditionType, status corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: status, Reason: reason, Message: msg, LastHeartbeatTime: in.Now, LastTransitionTime: in.Now}
		if o, ok := old[t]; ok && o.Status == status {
			c.LastTransitionTime = o.LastTransitionTime
		}
		return c
	}
	memPressure := in.Machine.MemoryAvailableBytes > 0 && in.Machine.MemoryAvailableBytes < evictionMemory.Value()
	diskPressure := in.Machine.EphemeralStorageBytes > 0 && float64(in.Machine.EphemeralAvailableBytes) < evictionDiskFraction*float64(in.Machine.EphemeralStorageBytes)
	if memPressure {
		s.Conditions = append(s.Conditions, cond(corev1.NodeMemoryPressure, corev1.ConditionTrue, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"))
	} else {
		s.Conditions = append(s.Conditions, cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"))
	}
	if diskPressure {
		s.Conditions = append(s.Conditions, cond(corev1.NodeDiskPressure, corev1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure"))
	} else {
		s.Conditions = append(s.Conditions, cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"))
	}
	s.Conditions = append(s.Conditions, cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"))
	if in.RuntimeReady && in.NetworkReady {
		s.Conditions = append(s.Conditions, cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"))
	} else {
		s.Conditions = append(s.Conditions, cond(corev1.NodeReady, corev1.ConditionFalse, "KubeletNotReady", in.NotReadyMessage))
	}
	// Conditions of other writers (NetworkUnavailable, ...) stay.
	for _, c := range in.Old.Conditions {
		switch c.Type {
		case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeReady:
		default:
			s.Conditions = append(s.Conditions, c)
		}
	}
	return s
}

// sameNodeStatus compares statuses without the heartbeat times.
func sameNodeStatus(a, b corev1.NodeStatus) bool {
	strip := func(s corev1.NodeStatus) corev1.NodeStatus {
		var out corev1.NodeStatus
		data, _ := json.Marshal(s)
		_ = json.Unmarshal(data, &out)
		for i := range out.Conditions {
			out.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
		return out
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// nodeLabels are the labels the kubelet sets on its Node.
func (k *Kubelet) nodeLabels() map[string]string {
	l := map[string]string{
		corev1.LabelHostname:      k.opts.NodeName,
		corev1.LabelOSStable:      "linux",
		corev1.LabelArchStable:    runtime.GOARCH,
		"beta.kubernetes.io/os":   "linux",
		"beta.kubernetes.io/arch": runtime.GOARCH,
	}
	if k.opts.ControlPlane {
		l["node-role.kubernetes.io/control-plane"] = "true"
	}
	for key, v := range k.opts.NodeLabels {
		l[key] = v
	}
	return l
}

func (k *Kubelet) addresses() []corev1.NodeAddress {
	var out []corev1.NodeAddress
	for _, ip := range k.opts.NodeIPs {
		out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip.String()})
	}
	return append(out, corev1.NodeAddress{Type: corev1.NodeHostName, Address: k.opts.Hostname})
}

// registerNode creates the Node, or brings the labels of an existing one up to date.
func (k *Kubelet) registerNode(ctx context.Context) error {
	nodes := k.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name: k.opts.NodeName, Labels: k.nodeLabels(),
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
		}}
		created, err := nodes.Create(ctx, node, metav1.CreateOptions{})
		if err == nil {
			k.recorder.Eventf(nodeRef(k.opts.NodeName, created.UID), corev1.EventTypeNormal, "Starting", "Starting kubelet.")
			k.setNode(created)
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("registering node: %w", err)
		}
		if node, err = nodes.Get(ctx, k.opts.NodeName, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("registering node: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("registering node: %w", err)
	}
	want := k.nodeLabels()
	missing := map[string]string{}
	for key, v := range want {
		if node.Labels[key] != v {
			missing[key] = v
		}
	}
	if len(missing) > 0 {
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": missing}})
		if node, err = nodes.Patch(ctx, k.opts.NodeName, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("registering node: %w", err)
		}
	}
	k.recorder.Eventf(nodeRef(k.opts.NodeName, node.UID), corev1.EventTypeNormal, "Starting", "Starting kubelet.")
	k.setNode(node)
	return nil
}

func nodeRef(name string, uid types.UID) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Node", Name: name, UID: uid, APIVersion: "v1"}
}

func (k *Kubelet) setNode(n *corev1.Node) {
	k.mu.Lock()
	k.node = n
	k.mu.Unlock()
}

func (k *Kubelet) currentNode() *corev1.Node {
	if k.nodeLister != nil {
		if n, err := k.nodeLister.Get(k.opts.NodeName); err == nil {
			k.mu.Lock()
			if k.node == nil || newerRV(n.ResourceVersion, k.node.ResourceVersion) {
				k.node = n
			}
			k.mu.Unlock()
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.node
}

// nodeStatusLoop registers the node, then computes its status every
// NodeStatusUpdateFrequency and posts it when it changed or NodeStatusReportFrequency
// passed since the last post.
func (k *Kubelet) nodeStatusLoop(ctx context.Context) {
	ticker := k.clock.NewTicker(k.opts.NodeStatusUpdateFrequency)
	defer ticker.Stop()
	registered := false
	var lastPost time.Time
	retry := 100 * time.Millisecond
	start := k.clock.Now()
	for {
		if !registered {
			if err := k.registerNode(ctx); err != nil {
				if ctx.Err() == nil && retry >= time.Second {
					k.log.Warn("registering the node", "err", err, "retry", retry)
				}
				select {
				case <-ctx.Done():
					return
				case <-k.clock.After(retry):
				}
				retry = min(2*retry, 5*time.Second)
				continue
			}
			registered = true
			close(k.registered)
		}
		if posted, err := k.updateNodeStatus(ctx, lastPost); err != nil {
			if ctx.Err() == nil {
				k.log.Warn("updating node status", "err", err)
			}
		} else if posted {
			lastPost = k.clock.Now()
		}
		if !k.nodeReadyPosted && k.clock.Since(start) < 30*time.Second {
			// Until the node is Ready, look every 100ms for a while: start-up latency.
			select {
			case <-ctx.Done():
				return
			case <-k.clock.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		case <-k.nodeKick:
		}
	}
}

// updateNodeStatus posts the node status when it changed or is due; it reports whether
// it posted.
func (k *Kubelet) updateNodeStatus(ctx context.Context, lastPost time.Time) (bool, error) {
	node := k.currentNode()
	if node == nil {
		return false, nil
	}
	st, err := k.runtime.Status(ctx, &runtimeapi.StatusRequest{})
	runtimeReady, networkReady := false, false
	msg := "container runtime is down"
	if err == nil {
		runtimeReady, networkReady = true, true
		for _, c := range st.GetStatus().GetConditions() {
			if c.Status {
				continue
			}
			switch c.Type {
			case runtimeapi.RuntimeReady:
				runtimeReady = false
				msg = fmt.Sprintf("container runtime not ready: RuntimeReady=false reason:%s message:%s", c.Reason, c.Message)
			case runtimeapi.NetworkReady:
				networkReady = false
				msg = fmt.Sprintf("container runtime network not ready: NetworkReady=false reason:%s message:%s", c.Reason, c.Message)
			}
		}
		if networkReady && !k.opts.NetworkReady() {
			networkReady = false
			msg = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:the pod network is not configured yet"
		}
	}
	m := k.machine()
	capacity := Capacity(m, k.opts.MaxPods)
	status := NodeStatus(NodeStatusInput{
		Machine: m, Capacity: capacity, Allocatable: Allocatable(capacity, k.opts.KubeReserved, k.opts.SystemReserved),
		Addresses: k.addresses(), RuntimeVersion: k.runtimeName + "://" + k.runtimeVersion,
		KubeletVersion: k.opts.KubeletVersion, Port: k.opts.Port,
		RuntimeReady: runtimeReady, NetworkReady: networkReady, NotReadyMessage: msg,
		Images: k.nodeImages(ctx), Old: node.Status, Now: metav1.NewTime(k.clock.Now()),
	})
	if sameNodeStatus(node.Status, status) && k.clock.Since(lastPost) < k.opts.NodeStatusReportFrequency {
		return false, nil
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return false, err
	}
	updated, err := k.client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return false, err
	}
	wasReady := nodeReady(node)
	k.setNode(updated)
	if nodeReady(updated) {
		if !wasReady {
			k.recorder.Eventf(nodeRef(node.Name, node.UID), corev1.EventTypeNormal, "NodeReady", "Node %s status is now: NodeReady", node.Name)
		}
		k.nodeReadyPosted = true
	}
	return true, nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// machine reads the host's facts, at most once every 10 seconds.
func (k *Kubelet) machine() Machine {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.machineAt.IsZero() || k.clock.Since(k.machineAt) > 10*time.Second {
		k.machineInfo = readMachine(k.opts.RootDir)
		k.machineAt = k.clock.Now()
	}
	return k.machineInfo
}

func (k *Kubelet) memoryCapacity() int64 { return k.machine().MemoryBytes }

func (k *Kubelet) allocatable() corev1.ResourceList {
	return Allocatable(Capacity(k.machine(), k.opts.MaxPods), k.opts.KubeReserved, k.opts.SystemReserved)
}

func (k *Kubelet) hostIPs() []string {
	out := make([]string, len(k.opts.NodeIPs))
	for i, ip := range k.opts.NodeIPs {
		out[i] = ip.String()
	}
	return out
}

// nodeImages lists the runtime's images as the node status reports them: biggest first,
// at most 50.
func (k *Kubelet) nodeImages(ctx context.Context) []corev1.ContainerImage {
	resp, err := k.images.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return nil
	}
	var out []corev1.ContainerImage
	for _, img := range resp.Images {
		names := append(append([]string{}, img.RepoDigests...), img.RepoTags...)
		if len(names) == 0 {
			continue
		}
		out = append(out, corev1.ContainerImage{Names: names, SizeBytes: int64(img.Size)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SizeBytes > out[j].SizeBytes })
	if len(out) > 50 {
		out = out[:50]
	}
	return out
}

// leaseLoop renews the node's Lease in kube-node-lease every quarter of its duration.
func (k *Kubelet) leaseLoop(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-k.registered:
	}
	ticker := k.clock.NewTicker(k.opts.LeaseDuration / 4)
	defer ticker.Stop()
	for {
		if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
			k.log.Warn("renewing the node lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
	}
}

func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(k.clock.Now())
	seconds := int32(k.opts.LeaseDuration / time.Second)
	lease, err := leases.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName, Namespace: corev1.NamespaceNodeLease},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &k.opts.NodeName, LeaseDurationSeconds: &seconds, RenewTime: &now},
		}
		if node := k.currentNode(); node != nil {
			lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &k.opts.NodeName, &seconds, &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}
