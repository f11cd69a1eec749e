package apiserver

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/watch"

	"capstan/internal/storage"
)

// minWatchTimeout is upstream's --min-request-timeout: a watch without timeoutSeconds ends
// after a random time between it and twice it, so clients spread their re-watches.
const minWatchTimeout = 30 * time.Minute

// serveWatch streams events until the client leaves, the timeout passes or the server stops.
func (h *resourceHandler) serveWatch(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	out, err := h.s.codecs.negotiateOutput(r, true)
	if err != nil {
		return err
	}
	if out.info.StreamSerializer == nil {
		return apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "watch", h.gr(), "", "the media type does not support watch", 0, false)
	}
	opts, ls, fs, err := h.listOptions(r, info)
	if err != nil {
		return err
	}
	timeout := minWatchTimeout + time.Duration(rand.Int64N(int64(minWatchTimeout)))
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wi, err := h.store.Watch(ctx, storage.WatchOptions{
		Prefix: h.prefix(info.Namespace), ResourceVersion: opts.ResourceVersion,
		Label: ls, Field: fs, AllowBookmarks: opts.AllowWatchBookmarks,
		SendInitialEvents: opts.SendInitialEvents,
	})
	if err != nil {
		return err
	}
	defer wi.Stop()

	flusher, _ := w.(http.Flusher)
	mediaType := out.info.MediaType
	if mediaType != mediaJSON {
		mediaType += ";stream=watch"
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	framer := out.info.StreamSerializer.Framer.NewFrameWriter(w)
	enc := streaming.NewEncoder(framer, out.info.StreamSerializer.Serializer)
	embedded := h.s.codecs.factory.EncoderForVersion(out.info.Serializer, h.gv)
	tableEnc := h.s.codecs.factory.EncoderForVersion(out.info.Serializer, metav1.SchemeGroupVersion)
	var tableOpts metav1.TableOptions
	if out.as == "Table" {
		if err := h.s.decodeParams(r, &tableOpts); err != nil {
			return nil
		}
	}
	firstTable := true
	var buf bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return nil
			}
			buf.Reset()
			// Event objects are shared by every watcher; encoding sets apiVersion and kind
			// on the top-level struct, so each watcher encodes its own shallow copy.
			obj, encoder := shallowCopy(ev.Object), embedded
			if ev.Type == watch.Error {
				encoder = tableEnc
			} else if out.as == "Table" && ev.Type != watch.Bookmark {
				t, err := h.table(obj, tableOpts.IncludeObject, firstTable)
				if err != nil {
					return nil
				}
				firstTable = false
				obj, encoder = t, tableEnc
			} else if out.as != "" {
				obj, encoder = partialMetadata(obj), tableEnc
			}
			if err := encoder.Encode(obj, &buf); err != nil {
				h.s.logger.Error("encoding watch event", "err", err)
				return nil
			}
			if err := enc.Encode(&metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: buf.Bytes()}}); err != nil {
				return nil
			}
			if len(wi.ResultChan()) == 0 && flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// shallowCopy copies the top-level struct of obj (its TypeMeta is then ours to set); maps,
// slices and pointers stay shared and must not be changed.
func shallowCopy(obj runtime.Object) runtime.Object {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return obj
	}
	c := reflect.New(v.Elem().Type())
	c.Elem().Set(v.Elem())
	return c.Interface().(runtime.Object)
}
