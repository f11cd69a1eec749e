package serviceaccounttoken

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
)

// Name is the controller's name in --controllers; Alias its older name.
const (
	Name  = "serviceaccount-token-controller"
	Alias = "serviceaccount-token"
)

// TokenIssuer signs legacy tokens (internal/auth/serviceaccount.Issuer).
type TokenIssuer interface {
	IssueLegacy(sa *corev1.ServiceAccount, secretName string) (string, error)
}

// Options configures the controller.
type Options struct {
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// Issuer signs the tokens. Required.
	Issuer TokenIssuer
	// RootCA is written as ca.crt; empty leaves ca.crt alone.
	RootCA []byte
	// Workers syncing secrets. Default 1.
	Workers int
	Metrics *base.Metrics
	Logger  *slog.Logger
}

// Controller fills and cleans up service-account token secrets.
type Controller struct {
	opts     Options
	secrets  corelisters.SecretLister
	accounts corelisters.ServiceAccountLister
	loop     *base.Loop
}

// New registers the informers the controller needs; Run starts it.
func New(opts Options) (*Controller, error) {
	if opts.Issuer == nil {
		return nil, errors.New(Name + ": no token issuer (service-account private key)")
	}
	c := &Controller{opts: opts}
	c.loop = base.New(base.Options{Name: Name, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger})
	secInf := opts.Informers.Core().V1().Secrets()
	saInf := opts.Informers.Core().V1().ServiceAccounts()
	c.secrets, c.accounts = secInf.Lister(), saInf.Lister()
	if _, err := secInf.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: isTokenSecret, Handler: c.loop.Handler(),
	}); err != nil {
		return nil, err
	}
	// An account's change (a new UID, a deletion) concerns the secrets that name it.
	onAccount := func(obj any) { c.enqueueSecretsOf(obj) }
	if _, err := saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onAccount, UpdateFunc: func(_, obj any) { onAccount(obj) }, DeleteFunc: onAccount,
	}); err != nil {
		return nil, err
	}
	c.loop.WaitFor(secInf.Informer().HasSynced, saInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Controller) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func isTokenSecret(obj any) bool {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	s, ok := obj.(*corev1.Secret)
	return ok && s.Type == corev1.SecretTypeServiceAccountToken
}

// enqueueSecretsOf queues the token secrets of the account obj (or its tombstone) names.
func (c *Controller) enqueueSecretsOf(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return
	}
	secrets, err := c.secrets.Secrets(sa.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, s := range secrets {
		if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == sa.Name {
			c.loop.EnqueueKey(s.Namespace + "/" + s.Name)
		}
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	secret, err := c.secrets.Secrets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return c.dropReferences(ctx, ns, name)
	}
	if err != nil {
		return err
	}
	accountName := secret.Annotations[corev1.ServiceAccountNameKey]
	if secret.Type != corev1.SecretTypeServiceAccountToken || accountName == "" {
		return nil
	}
	sa, err := c.account(ctx, ns, accountName, secret.Annotations[corev1.ServiceAccountUIDKey])
	if err != nil {
		return err
	}
	if sa == nil {
		// The account is gone or was recreated: its token must go too.
		err := c.opts.Client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &secret.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting token secret %s: %w", key, err)
		}
		return nil
	}
	return c.fill(ctx, secret, sa)
}

// account returns the service account a secret names, or nil when it does not exist or
// has another UID than the secret records. A cache miss is checked against the server:
// the account may be newer than the cache.
func (c *Controller) account(ctx context.Context, ns, name, uid string) (*corev1.ServiceAccount, error) {
	sa, err := c.accounts.ServiceAccounts(ns).Get(name)
	if apierrors.IsNotFound(err) {
		sa, err = c.opts.Client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case uid != "" && string(sa.UID) != uid:
		return nil, nil
	}
	return sa, nil
}

// fill writes the token, ca.crt, namespace and the account annotations the secret lacks.
func (c *Controller) fill(ctx context.Context, secret *corev1.Secret, sa *corev1.ServiceAccount) error {
	needsCA := len(c.opts.RootCA) > 0 && !bytes.Equal(secret.Data[corev1.ServiceAccountRootCAKey], c.opts.RootCA)
	needsNamespace := len(secret.Data[corev1.ServiceAccountNamespaceKey]) == 0
	needsToken := len(secret.Data[corev1.ServiceAccountTokenKey]) == 0
	needsUID := secret.Annotations[corev1.ServiceAccountUIDKey] != string(sa.UID)
	if !needsCA && !needsNamespace && !needsToken && !needsUID {
		return nil
	}
	s := secret.DeepCopy()
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	if needsCA {
		s.Data[corev1.ServiceAccountRootCAKey] = c.opts.RootCA
	}
	if needsNamespace {
		s.Data[corev1.ServiceAccountNamespaceKey] = []byte(s.Namespace)
	}
	if needsToken {
		token, err := c.opts.Issuer.IssueLegacy(sa, s.Name)
		if err != nil {
			return fmt.Errorf("generating token for %s/%s: %w", s.Namespace, s.Name, err)
		}
		s.Data[corev1.ServiceAccountTokenKey] = []byte(token)
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[corev1.ServiceAccountNameKey] = sa.Name
	s.Annotations[corev1.ServiceAccountUIDKey] = string(sa.UID)
	// The update carries the cached resourceVersion: a stale cache is a conflict, retried.
	_, err := c.opts.Client.CoreV1().Secrets(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating token secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}

// dropReferences removes a deleted secret from the secrets lists of the accounts of its
// namespace.
func (c *Controller) dropReferences(ctx context.Context, ns, name string) error {
	accounts, err := c.accounts.ServiceAccounts(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	refers := func(r corev1.ObjectReference) bool { return r.Name == name }
	for _, sa := range accounts {
		if !slices.ContainsFunc(sa.Secrets, refers) {
			continue
		}
		sa = sa.DeepCopy()
		sa.Secrets = slices.DeleteFunc(sa.Secrets, refers)
		if _, err := c.opts.Client.CoreV1().ServiceAccounts(ns).Update(ctx, sa, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("dropping secret %s from service account %s/%s: %w", name, ns, sa.Name, err)
		}
	}
	return nil
}
