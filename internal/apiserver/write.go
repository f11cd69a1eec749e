package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/fieldmanager"
	"capstan/internal/apiserver/openapi"
	"capstan/internal/apiserver/registry"
	"capstan/internal/apiserver/registry/certificates"
)

// updateMode says which part of an object a write may change.
type updateMode int

const (
	modeMain updateMode = iota
	modeStatus
	modeFinalize
	modeApproval
	// modeSystem is for server-internal writes (binding, deletion bookkeeping) that skip the
	// strategy: the caller has made the change itself.
	modeSystem
)

func dryRun(r *http.Request) bool { return len(r.URL.Query()["dryRun"]) > 0 }

func (h *resourceHandler) serveCreate(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	if info.Name != "" {
		return apierrors.NewMethodNotSupported(h.gr(), "create")
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	obj := h.newObj()
	if err := h.s.decodeInto(w, r, data, r.Header.Get("Content-Type"), h.res.GVK, obj); err != nil {
		return err
	}
	out, err := h.create(ctx, info.Namespace, obj, dryRun(r))
	if err != nil {
		return err
	}
	h.s.writeObject(w, r, http.StatusCreated, h.gv, out)
	return nil
}

// create stores a new object after defaulting, admission and validation.
func (h *resourceHandler) create(ctx context.Context, ns string, obj runtime.Object, dry bool) (runtime.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if h.res.Namespaced {
		if m.GetNamespace() == "" {
			m.SetNamespace(ns)
		} else if ns != "" && m.GetNamespace() != ns {
			return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		m.SetNamespace("")
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(m.GetGenerateName() + utilrand.String(5))
	}
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(metav1.NewTime(h.s.clock.Now().Truncate(1e9)))
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetResourceVersion("")
	m.SetSelfLink("")
	m.SetGeneration(0)
	if registry.Spec(obj).IsValid() {
		m.SetGeneration(1)
	}
	if h.res.GVK.Group == "certificates.k8s.io" {
		u := userFrom(ctx)
		ctx = certificates.WithRequester(ctx, certificates.Requester{Name: u.Name, UID: u.UID, Groups: u.Groups})
	}
	h.res.Strategy.Default(obj)
	h.res.Strategy.PrepareForCreate(ctx, obj)
	if err := h.s.admit(ctx, h, obj, nil); err != nil {
		return nil, err
	}
	h.manageFields(ctx, nil, obj)
	errs := apimachineryvalidation.ValidateObjectMetaAccessor(m, h.res.Namespaced, h.nameFunc(), field.NewPath("metadata"))
	if !isSystemWrite(ctx) {
		errs = append(errs, h.res.Strategy.Validate(ctx, obj)...)
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(h.res.GVK.GroupKind(), m.GetName(), errs)
	}
	unquota, err := h.s.admitQuota(ctx, h, obj, dry)
	if err != nil {
		return nil, err
	}
	release := func() {}
	if h.hooks.beforeCreate != nil {
		if release, err = h.hooks.beforeCreate(ctx, obj, dry); err != nil {
			unquota()
			return nil, err
		}
	}
	if dry {
		release()
		return obj, nil
	}
	out, err := h.store.Create(ctx, h.key(m.GetNamespace(), m.GetName()), obj, h.hooks.ttl)
	if err != nil {
		release()
		unquota()
		return nil, err
	}
	return out, nil
}

func (h *resourceHandler) nameFunc() apimachineryvalidation.ValidateNameFunc {
	if h.res.NameValidation != nil {
		return h.res.NameValidation
	}
	return apimachineryvalidation.NameIsDNSSubdomain
}

func (h *resourceHandler) serveUpdate(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	obj := h.newObj()
	if err := h.s.decodeInto(w, r, data, r.Header.Get("Content-Type"), h.res.GVK, obj); err != nil {
		return err
	}
	if m, err := meta.Accessor(obj); err == nil && m.GetName() != info.Name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), info.Name))
	}
	mode := modeMain
	switch info.Subresource {
	case "status":
		mode = modeStatus
	case "finalize":
		mode = modeFinalize
	case "approval":
		mode = modeApproval
	}
	out, created, err := h.update(ctx, info.Namespace, info.Name, mode, dryRun(r), func(existing runtime.Object) (runtime.Object, error) {
		if err := h.uidPrecondition(info.Name, obj, existing); err != nil {
			return nil, err
		}
		return obj.DeepCopyObject(), nil
	})
	if err != nil {
		return err
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	h.s.writeObject(w, r, code, h.gv, out)
	return nil
}

// uidPrecondition is upstream's precondition of a PUT: a body naming a UID applies only to
// the object with that UID (not to one re-created under the same name).
func (h *resourceHandler) uidPrecondition(name string, obj, existing runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	em, err := meta.Accessor(existing)
	if err != nil {
		return err
	}
	if uid := m.GetUID(); uid != "" && uid != em.GetUID() {
		return apierrors.NewConflict(h.gr(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, em.GetUID()))
	}
	return nil
}

// errNotFoundCreate tells update's loop that the object is missing and may be created.
var errNotFoundCreate = errors.New("create on update")

// update changes an object: newObj turns a copy of the stored object into the desired one;
// the mode decides which part may change. The whole read-modify-write repeats on a lost
// race, so newObj may be called more than once.
func (h *resourceHandler) update(ctx context.Context, ns, name string, mode updateMode, dry bool, newObj func(existing runtime.Object) (runtime.Object, error)) (runtime.Object, bool, error) {
	key := h.key(ns, name)
	var result runtime.Object
	out, err := h.store.GuaranteedUpdate(ctx, key, nil, h.hooks.createOnUpdate && mode == modeMain, func(existing runtime.Object) (runtime.Object, error) {
		em, err := meta.Accessor(existing)
		if err != nil {
			return nil, err
		}
		if em.GetResourceVersion() == "" {
			return nil, errNotFoundCreate
		}
		obj, err := newObj(existing.DeepCopyObject())
		if err != nil {
			return nil, err
		}
		if err := h.prepareUpdate(ctx, ns, name, mode, obj, existing); err != nil {
			return nil, err
		}
		if dry {
			result = obj
			return nil, errDryRun
		}
		return obj, nil
	})
	switch {
	case errors.Is(err, errDryRun):
		return result, false, nil
	case errors.Is(err, errNotFoundCreate):
		obj, nerr := newObj(h.newObj())
		if nerr != nil {
			return nil, false, nerr
		}
		if m, merr := meta.Accessor(obj); merr == nil && m.GetName() != name {
			return nil, false, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
		}
		created, cerr := h.create(ctx, ns, obj, dry)
		return created, cerr == nil, cerr
	case err != nil:
		return nil, false, err
	}
	if deleted, derr := h.finishDeletionIfDone(ctx, out); derr != nil || deleted {
		return out, false, derr
	}
	return out, false, nil
}

var errDryRun = errors.New("dry run")

// prepareUpdate checks and completes obj, the desired state, against existing.
func (h *resourceHandler) prepareUpdate(ctx context.Context, ns, name string, mode updateMode, obj, existing runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	em, _ := meta.Accessor(existing)
	if m.GetName() != name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), name))
	}
	if h.res.Namespaced {
		if m.GetNamespace() == "" {
			m.SetNamespace(ns)
		} else if m.GetNamespace() != ns {
			return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
		}
	} else {
		m.SetNamespace("")
	}
	if rv := m.GetResourceVersion(); rv != "" && rv != em.GetResourceVersion() {
		return apierrors.NewConflict(h.gr(), name, errors.New(registryConflictMessage))
	}
	// An update without a resourceVersion is unconditional: it applies to the latest state.
	m.SetResourceVersion(em.GetResourceVersion())
	if mode == modeSystem {
		return nil
	}
	// System-owned metadata never changes through an update. A UID left out means the
	// stored one; a different one (a patch changing it) fails validation as immutable.
	if m.GetUID() == "" {
		m.SetUID(em.GetUID())
	}
	m.SetCreationTimestamp(em.GetCreationTimestamp())
	m.SetDeletionTimestamp(em.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(em.GetDeletionGracePeriodSeconds())
	m.SetGeneration(em.GetGeneration())
	m.SetSelfLink("")
	if m.GetDeletionTimestamp() != nil {
		// An object being deleted may lose finalizers but not gain them.
		if extra := newFinalizers(m.GetFinalizers(), em.GetFinalizers()); len(extra) > 0 {
			return apierrors.NewForbidden(h.gr(), name, fmt.Errorf("no new finalizers can be added if the object is being deleted, found new finalizers %q", extra))
		}
	}
	st := h.res.Strategy
	st.Default(obj)
	var errs field.ErrorList
	switch mode {
	case modeMain:
		st.PrepareForUpdate(ctx, obj, existing)
		if spec := registry.Spec(obj); spec.IsValid() && !apiequality.Semantic.DeepEqual(spec.Interface(), registry.Spec(existing).Interface()) {
			m.SetGeneration(em.GetGeneration() + 1)
		}
		errs = st.ValidateUpdate(ctx, obj, existing)
	case modeStatus:
		st.PrepareForStatusUpdate(ctx, obj, existing)
		errs = st.ValidateStatusUpdate(ctx, obj, existing)
	case modeFinalize, modeApproval:
		if h.hooks.prepareSubresource != nil {
			errs = h.hooks.prepareSubresource(ctx, mode, obj, existing)
		}
	}
	if len(errs) == 0 {
		h.manageFields(ctx, existing, obj)
	}
	errs = append(apimachineryvalidation.ValidateObjectMetaAccessorUpdate(m, em, field.NewPath("metadata")), errs...)
	if mode == modeMain {
		errs = append(apimachineryvalidation.ValidateObjectMetaAccessor(m, h.res.Namespaced, h.nameFunc(), field.NewPath("metadata")), errs...)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(h.res.GVK.GroupKind(), name, dedupe(errs))
	}
	if h.hooks.beforeUpdate != nil {
		return h.hooks.beforeUpdate(ctx, obj, existing)
	}
	return nil
}

// fieldOwner is who writes, for managedFields: the manager (the fieldManager option, else
// from the User-Agent), the subresource written, and whether an apply already recorded it.
type fieldOwner struct {
	manager     string
	subresource string
	applied     bool
}

type fieldOwnerKey struct{}

// withFieldOwner marks a create, update or patch request's writes as made by its client.
// Writes without an owner (the server's own) keep the stored managedFields.
func withFieldOwner(ctx context.Context, r *http.Request, subresource string) context.Context {
	owner := fieldOwner{manager: fieldmanager.ManagerName(r.URL.Query().Get("fieldManager"), r.UserAgent()), subresource: subresource}
	return context.WithValue(ctx, fieldOwnerKey{}, owner)
}

// fieldTypes is the field managers' schema of every kind. It depends only on the Go types,
// so a process builds it once, on first use, from the OpenAPI document of all resources.
var fieldTypes = sync.OnceValues(func() (*fieldmanager.TypeConverter, error) {
	oa, err := openapi.NewHandler(openapi.Options{Scheme: registry.NewScheme(), Resources: AllResources()})
	if err != nil {
		return nil, err
	}
	return fieldmanager.FromOpenAPI(oa)
})

// fieldManager is the field manager of writes through subresource ("" for the main
// resource), or nil for a kind without a schema.
func (h *resourceHandler) fieldManager(subresource string) *fieldmanager.Manager {
	tc, err := fieldTypes()
	if err != nil {
		h.s.logger.Error("field management disabled", "err", err)
		return nil
	}
	fm, _ := tc.Manager(fieldmanager.Options{GVK: h.res.GVK, Subresource: subresource, HasStatus: h.res.Status})
	return fm
}

// manageFields records in obj's managedFields what the request's client changed from live
// (nil on create). The server's own writes keep the stored entries (none on create).
func (h *resourceHandler) manageFields(ctx context.Context, live, obj runtime.Object) {
	owner, ok := ctx.Value(fieldOwnerKey{}).(fieldOwner)
	if ok && owner.applied {
		return
	}
	var fm *fieldmanager.Manager
	if ok {
		fm = h.fieldManager(owner.subresource)
	} else if live == nil {
		go fieldTypes() // a bootstrap write: warm the schemas for the first request
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	if fm == nil {
		var kept []metav1.ManagedFieldsEntry
		if lm, err := meta.Accessor(live); live != nil && err == nil {
			kept = lm.GetManagedFields()
		}
		m.SetManagedFields(kept)
		return
	}
	if err := fm.Update(live, obj, owner.manager, h.s.clock.Now()); err != nil {
		h.s.logger.Warn("managedFields reset: tracking failed", "resource", h.gr(), "name", m.GetName(), "err", err)
	}
}

const registryConflictMessage = "the object has been modified; please apply your changes to the latest version and try again"

func newFinalizers(now, before []string) []string {
	had := map[string]bool{}
	for _, f := range before {
		had[f] = true
	}
	var out []string
	for _, f := range now {
		if !had[f] {
			out = append(out, f)
		}
	}
	return out
}

// dedupe drops the repeats that metadata validation on both create and update rules yields.
func dedupe(errs field.ErrorList) field.ErrorList {
	seen := map[string]bool{}
	var out field.ErrorList
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

// finishDeletionIfDone removes an object whose deletion was waiting only for finalizers
// that are now gone (deletionGracePeriodSeconds 0 and no finalizers), as upstream does
// during the update that removes the last finalizer.
func (h *resourceHandler) finishDeletionIfDone(ctx context.Context, obj runtime.Object) (bool, error) {
	m, err := meta.Accessor(obj)
	if err != nil || m.GetDeletionTimestamp() == nil || len(m.GetFinalizers()) > 0 {
		return false, nil
	}
	if g := m.GetDeletionGracePeriodSeconds(); g == nil || *g != 0 {
		return false, nil
	}
	if h.hooks.pendingDeletion != nil && h.hooks.pendingDeletion(obj) {
		return false, nil
	}
	uid, rv := m.GetUID(), m.GetResourceVersion()
	_, err = h.store.Delete(ctx, h.key(m.GetNamespace(), m.GetName()), &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}, nil)
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return false, nil
	}
	if err == nil && h.hooks.afterDelete != nil {
		h.hooks.afterDelete(ctx, obj)
	}
	return err == nil, err
}

type systemWriteKey struct{}

// withSystemWrite marks the server's own writes of system objects (the kubernetes
// Service's endpoints may point at a loopback address, which users may not write).
func withSystemWrite(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemWriteKey{}, true)
}

func isSystemWrite(ctx context.Context) bool { return ctx.Value(systemWriteKey{}) != nil }
