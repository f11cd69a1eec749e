package nodeipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers.
const Name = "node-ipam-controller"

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// ClusterCIDR is the pod range ("10.42.0.0/16", or a dual-stack pair). Required.
	ClusterCIDR string
	// MaskSize of each IPv4 node's subnet. Default 24.
	MaskSize int
	// Recorder for the node events (CIDRNotAvailable). Optional.
	Recorder record.EventRecorder
	// Workers syncing nodes. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
}

// Controller assigns pod CIDRs to nodes.
type Controller struct {
	opts   Options
	alloc  *Allocator
	nodes  corelisters.NodeLister
	synced cache.InformerSynced
	loop   *base.Loop
	log    *slog.Logger
}

// New registers the node informer; Run starts the controller.
func New(opts Options) (*Controller, error) {
	if opts.MaskSize == 0 {
		opts.MaskSize = 24
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Recorder == nil {
		opts.Recorder = &record.FakeRecorder{}
	}
	alloc, err := NewAllocator(opts.ClusterCIDR, opts.MaskSize)
	if err != nil {
		return nil, err
	}
	c := &Controller{opts: opts, alloc: alloc, log: opts.Logger.With("controller", Name)}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger})
	inf := opts.Informers.Core().V1().Nodes()
	c.nodes, c.synced = inf.Lister(), inf.Informer().HasSynced
	if _, err := inf.Informer().AddEventHandler(c.loop.Handler()); err != nil {
		return nil, err
	}
	c.loop.WaitFor(c.synced)
	return c, nil
}

// Run rebuilds the allocation map from the nodes, then assigns until ctx is done.
func (c *Controller) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return fmt.Errorf("%s: node informer did not sync: %w", Name, ctx.Err())
	}
	if err := c.rebuild(); err != nil {
		return err
	}
	return c.loop.Run(ctx)
}

// rebuild records the ranges every known node holds, before any node gets a new one.
func (c *Controller) rebuild() error {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := c.alloc.Occupy(n.Name, n.Spec.PodCIDRs); err != nil {
			c.log.Error("node has a podCIDR that cannot be recorded", "node", n.Name, "err", err)
		}
	}
	return nil
}

func (c *Controller) sync(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		c.alloc.Release(name)
		return nil
	}
	if err != nil {
		return err
	}
	if len(node.Spec.PodCIDRs) > 0 {
		if err := c.alloc.Occupy(name, node.Spec.PodCIDRs); err != nil {
			c.log.Error("node's podCIDR is held by another node", "node", name, "err", err)
		}
		return nil
	}
	cidrs, err := c.alloc.Allocate(name)
	if errors.Is(err, ErrFull) {
		c.recordStatus(node, "CIDRNotAvailable")
		return fmt.Errorf("node %s: %w", name, err)
	}
	if err != nil {
		return err
	}
	if err := c.patch(ctx, name, cidrs); err != nil {
		c.alloc.Release(name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		c.recordStatus(node, "CIDRAssignmentFailed")
		return fmt.Errorf("assigning podCIDR to node %s: %w", name, err)
	}
	c.log.Debug("assigned podCIDR", "node", name, "cidrs", cidrs)
	return nil
}

// patch sets spec.podCIDR and spec.podCIDRs. Validation lets them change only from empty,
// so a racing writer makes the patch fail instead of being overwritten.
func (c *Controller) patch(ctx context.Context, name string, cidrs []netip.Prefix) error {
	strs := make([]string, len(cidrs))
	for i, p := range cidrs {
		strs[i] = p.String()
	}
	body, err := json.Marshal(map[string]any{"spec": map[string]any{"podCIDR": strs[0], "podCIDRs": strs}})
	if err != nil {
		return err
	}
	_, err = c.opts.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{})
	return err
}

// recordStatus emits upstream's node status-change event.
func (c *Controller) recordStatus(node *corev1.Node, status string) {
	ref := &corev1.ObjectReference{Kind: "Node", Name: node.Name, UID: types.UID(node.Name)}
	c.opts.Recorder.Eventf(ref, corev1.EventTypeNormal, status, "Node %s status is now: %s", node.Name, status)
}
