package rootca

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
)

const (
	// Name is the controller's name in --controllers.
	Name = "root-ca-certificate-publisher-controller"
	// ConfigMapName is the ConfigMap published in every namespace.
	ConfigMapName = "kube-root-ca.crt"
	// Key holds the PEM bundle in the ConfigMap.
	Key = "ca.crt"

	descriptionAnnotation = "kubernetes.io/description"
	description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// RootCA is the PEM bundle to publish. Required.
	RootCA []byte
	// Workers syncing namespaces. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
}

// Controller publishes the root CA.
type Controller struct {
	opts       Options
	namespaces corelisters.NamespaceLister
	configMaps corelisters.ConfigMapLister
	loop       *base.Loop
}

// New registers the informers the controller needs; Run starts it.
func New(opts Options) (*Controller, error) {
	if len(opts.RootCA) == 0 {
		return nil, fmt.Errorf("%s: no root CA to publish", Name)
	}
	c := &Controller{opts: opts}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger})
	nsInf := opts.Informers.Core().V1().Namespaces()
	cmInf := opts.Informers.Core().V1().ConfigMaps()
	c.namespaces, c.configMaps = nsInf.Lister(), cmInf.Lister()
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.loop.Enqueue,
		UpdateFunc: func(_, obj any) { c.loop.Enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	onConfigMap := func(obj any) {
		if ns, name := keyOf(obj); name == ConfigMapName {
			c.loop.EnqueueKey(ns)
		}
	}
	if _, err := cmInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { onConfigMap(obj) },
		DeleteFunc: onConfigMap,
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(nsInf.Informer().HasSynced, cmInf.Informer().HasSynced)
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
	if ns.DeletionTimestamp != nil {
		return nil
	}
	want := map[string]string{Key: string(c.opts.RootCA)}
	cm, err := c.configMaps.ConfigMaps(name).Get(ConfigMapName)
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Annotations: map[string]string{descriptionAnnotation: description}},
			Data:       want,
		}
		_, err := c.opts.Client.CoreV1().ConfigMaps(name).Create(ctx, cm, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsForbidden(err) {
			return fmt.Errorf("creating %s/%s: %w", name, ConfigMapName, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if maps.Equal(cm.Data, want) && len(cm.BinaryData) == 0 && cm.Annotations[descriptionAnnotation] == description {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data, cm.BinaryData = want, nil
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[descriptionAnnotation] = description
	if _, err := c.opts.Client.CoreV1().ConfigMaps(name).Update(ctx, cm, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating %s/%s: %w", name, ConfigMapName, err)
	}
	return nil
}

// keyOf is the namespace and name of an object or tombstone.
func keyOf(obj any) (string, string) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		ns, name, _ := cache.SplitMetaNamespaceKey(t.Key)
		return ns, name
	}
	if m, ok := obj.(metav1.Object); ok {
		return m.GetNamespace(), m.GetName()
	}
	return "", ""
}
