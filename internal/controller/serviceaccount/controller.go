package serviceaccount

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers.
const Name = "serviceaccount-controller"

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Accounts to keep in every namespace. Default ["default"].
	Accounts []string
	// Workers syncing namespaces. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
}

// Controller keeps the service accounts.
type Controller struct {
	opts       Options
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	loop       *base.Loop
}

// New registers the informers the controller needs; Run starts it.
func New(opts Options) (*Controller, error) {
	if len(opts.Accounts) == 0 {
		opts.Accounts = []string{"default"}
	}
	c := &Controller{opts: opts}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger})
	nsInf := opts.Informers.Core().V1().Namespaces()
	saInf := opts.Informers.Core().V1().ServiceAccounts()
	c.namespaces, c.accounts = nsInf.Lister(), saInf.Lister()
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.loop.Enqueue,
		UpdateFunc: func(_, obj any) { c.loop.Enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	// A deleted account is recreated: its namespace is looked at again.
	if _, err := saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if ns := namespaceOf(obj); ns != "" {
				c.loop.EnqueueKey(ns)
			}
		},
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(nsInf.Informer().HasSynced, saInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Status.Phase != corev1.NamespaceActive || ns.DeletionTimestamp != nil {
		return nil
	}
	for _, account := range c.opts.Accounts {
		if _, err := c.accounts.ServiceAccounts(name).Get(account); err == nil {
			continue
		} else if !apierrors.IsNotFound(err) {
			return err
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: account}}
		_, err := c.opts.Client.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{})
		switch {
		case err == nil, apierrors.IsAlreadyExists(err):
		case terminating(err):
			// The namespace started terminating since the lister saw it.
			return nil
		default:
			return fmt.Errorf("creating service account %s/%s: %w", name, account, err)
		}
	}
	return nil
}

// terminating reports a create refused because the namespace is being deleted.
func terminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) ||
		(apierrors.IsForbidden(err) && strings.Contains(err.Error(), "being terminated"))
}

// namespaceOf is the namespace of an object or tombstone.
func namespaceOf(obj any) string {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		ns, _, _ := cache.SplitMetaNamespaceKey(t.Key)
		return ns
	}
	if m, ok := obj.(metav1.Object); ok {
		return m.GetNamespace()
	}
	return ""
}
