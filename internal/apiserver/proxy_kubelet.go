package apiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/streaming/pkg/httpstream/wsstream"

	"capstan/internal/storage"
)

// KubeletClientUser is the common name of the client certificate the API server presents
// to kubelets; the kubelet API (internal/kubelet/server.APIServerUser) lets it in.
const KubeletClientUser = "kube-apiserver-kubelet-client"

// KubeletClientConfig is how the API server reaches kubelets, for pods/log, pods/exec,
// pods/attach, pods/portforward and nodes/proxy.
type KubeletClientConfig struct {
	// CertPEM and KeyPEM are the client certificate the API server presents to kubelets.
	// Without them those requests fail.
	CertPEM, KeyPEM []byte
	// CAPEM verifies the kubelets' serving certificates. Without it they are not verified,
	// as upstream does without --kubelet-certificate-authority.
	CAPEM []byte
	// PreferredAddressTypes orders the node addresses to dial. Default InternalIP,
	// ExternalIP, Hostname (the hostname may resolve to loopback on these machines).
	PreferredAddressTypes []corev1.NodeAddressType
	// Port is the kubelet port used when a node reports none. Default 10250.
	Port int32
}

// kubeletClient holds the TLS setup built once from KubeletClientConfig.
type kubeletClient struct {
	once      sync.Once
	err       error
	tls       *tls.Config
	transport *http.Transport
}

const defaultKubeletPort = 10250

// kubelet returns the client, building it on first use.
func (s *Server) kubelet() (*kubeletClient, error) {
	c := &s.kubeletClient
	c.once.Do(func() {
		cfg := s.opts.Kubelet
		if len(cfg.CertPEM) == 0 || len(cfg.KeyPEM) == 0 {
			c.err = errors.New("the API server has no kubelet client certificate")
			return
		}
		pair, err := tls.X509KeyPair(cfg.CertPEM, cfg.KeyPEM)
		if err != nil {
			c.err = fmt.Errorf("kubelet client certificate: %w", err)
			return
		}
		c.tls = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
		if len(cfg.CAPEM) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(cfg.CAPEM) {
				c.err = errors.New("kubelet CA: no certificates")
				return
			}
			c.tls.RootCAs = pool
		} else {
			c.tls.InsecureSkipVerify = true //nolint:gosec // upstream's default without a kubelet CA
		}
		c.transport = &http.Transport{
			TLSClientConfig:     c.tls,
			DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 25,
			IdleConnTimeout:     90 * time.Second,
			// Upgraded streams need HTTP/1.1.
			ForceAttemptHTTP2: false,
		}
	})
	return c, c.err
}

// kubeletSubresources are the pod and node subresources served by a kubelet.
func isKubeletSubresource(resource, sub string) bool {
	switch resource + "/" + sub {
	case "pods/log", "pods/exec", "pods/attach", "pods/portforward", "nodes/proxy":
		return true
	}
	return false
}

// serveKubeletSubresource serves pods/log, pods/exec, pods/attach, pods/portforward and
// nodes/proxy by proxying to the kubelet of the pod's node.
func (h *resourceHandler) serveKubeletSubresource(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	switch h.res.Plural + "/" + info.Subresource {
	case "pods/log":
		if info.Verb != "get" {
			return apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/log"}, info.Verb)
		}
		return h.servePodLog(ctx, w, r, info)
	case "pods/exec", "pods/attach":
		if info.Verb != "get" && info.Verb != "create" {
			return apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/" + info.Subresource}, info.Verb)
		}
		return h.servePodStream(ctx, w, r, info)
	case "pods/portforward":
		if info.Verb != "get" && info.Verb != "create" {
			return apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/portforward"}, info.Verb)
		}
		return h.servePortForward(ctx, w, r, info)
	case "nodes/proxy":
		return h.serveNodeProxy(ctx, w, r, info)
	}
	return apierrors.NewNotFound(h.gr(), info.Name)
}

func (h *resourceHandler) getPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	obj, err := h.store.Get(ctx, h.key(ns, name), storage.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("unexpected object %T", obj)
	}
	return pod, nil
}

func (s *Server) getNode(ctx context.Context, name string) (*corev1.Node, error) {
	nh := s.handlers["/v1/nodes"]
	if nh == nil {
		return nil, apierrors.NewServiceUnavailable("nodes are not served")
	}
	obj, err := nh.store.Get(ctx, nh.key("", name), storage.GetOptions{})
	if err != nil {
		return nil, err
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return nil, fmt.Errorf("unexpected object %T", obj)
	}
	return node, nil
}

// kubeletHostPort is the address of the node's kubelet: its preferred address and the
// port it reports in daemonEndpoints.
func kubeletHostPort(node *corev1.Node, preferred []corev1.NodeAddressType, defaultPort int32) (string, error) {
	if len(preferred) == 0 {
		preferred = []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName}
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 {
		port = defaultPort
	}
	for _, t := range preferred {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return net.JoinHostPort(a.Address, strconv.Itoa(int(port))), nil
			}
		}
	}
	var known []string
	for _, a := range node.Status.Addresses {
		known = append(known, string(a.Type)+":"+a.Address)
	}
	return "", fmt.Errorf("no preferred addresses found; known addresses: %v", known)
}

// kubeletURL is the URL of path on the kubelet of node nodeName.
func (s *Server) kubeletURL(ctx context.Context, nodeName, path string, query url.Values) (*url.URL, error) {
	node, err := s.getNode(ctx, nodeName)
	if err != nil {
		return nil, err
	}
	port := s.opts.Kubelet.Port
	if port == 0 {
		port = defaultKubeletPort
	}
	host, err := kubeletHostPort(node, s.opts.Kubelet.PreferredAddressTypes, port)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return &url.URL{Scheme: "https", Host: host, Path: path, RawQuery: query.Encode()}, nil
}

// podContainer is the container a pod subresource names: the one asked for, which must be
// in the pod, or the pod's only container.
func podContainer(pod *corev1.Pod, container string) (string, error) {
	if container == "" {
		switch len(pod.Spec.Containers) {
		case 1:
			return pod.Spec.Containers[0].Name, nil
		case 0:
			return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, containerNames(pod.Spec.Containers))
		if len(pod.Spec.InitContainers) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: [%s]", containerNames(pod.Spec.InitContainers))
		}
		if len(pod.Spec.EphemeralContainers) > 0 {
			var names []string
			for _, c := range pod.Spec.EphemeralContainers {
				names = append(names, c.Name)
			}
			msg += fmt.Sprintf(" or one of the ephemeral containers: [%s]", strings.Join(names, " "))
		}
		return "", apierrors.NewBadRequest(msg)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			return container, nil
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == container {
			return container, nil
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == container {
			return container, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
}

func containerNames(cs []corev1.Container) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

// podLogQuery checks the PodLogOptions of a pods/log request and renders the kubelet's
// /containerLogs query.
func podLogQuery(q url.Values, podName string) (container string, out url.Values, err error) {
	out = url.Values{}
	var errs field.ErrorList
	boolean := func(name string) error {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("%s: invalid boolean value %q", name, v))
		}
		if b {
			out.Set(name, "true")
		}
		return nil
	}
	for _, name := range []string{"follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"} {
		if err := boolean(name); err != nil {
			return "", nil, err
		}
	}
	out.Del("insecureSkipTLSVerifyBackend")
	integer := func(name string, min int64, msg string) error {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("%s: invalid integer value %q", name, v))
		}
		if n < min {
			errs = append(errs, field.Invalid(field.NewPath(name), n, msg))
		}
		out.Set(name, strconv.FormatInt(n, 10))
		return nil
	}
	if err := integer("tailLines", 0, "must be greater than or equal to 0"); err != nil {
		return "", nil, err
	}
	if err := integer("limitBytes", 1, "must be greater than 0"); err != nil {
		return "", nil, err
	}
	if err := integer("sinceSeconds", 1, "must be greater than 0"); err != nil {
		return "", nil, err
	}
	if v := q.Get("sinceTime"); v != "" {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return "", nil, apierrors.NewBadRequest(fmt.Sprintf("sinceTime: invalid time %q", v))
		}
		out.Set("sinceTime", t.UTC().Format(time.RFC3339))
		if q.Get("sinceSeconds") != "" {
			errs = append(errs, field.Forbidden(field.NewPath(""), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
		}
	}
	if v := q.Get("stream"); v != "" {
		switch v {
		case "All":
		case "Stdout", "Stderr":
			out.Set("stream", v)
			if q.Get("tailLines") != "" {
				errs = append(errs, field.Forbidden(field.NewPath("tailLines"), "`tailLines` and specific `stream` are mutually exclusive for now"))
			}
		default:
			errs = append(errs, field.NotSupported(field.NewPath("stream"), v, []string{"All", "Stderr", "Stdout"}))
		}
	}
	if len(errs) > 0 {
		return "", nil, apierrors.NewInvalid(schema.GroupKind{Kind: "PodLogOptions"}, podName, errs)
	}
	return q.Get("container"), out, nil
}

// servePodLog streams a container's log from its kubelet.
func (h *resourceHandler) servePodLog(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	container, query, err := podLogQuery(r.URL.Query(), info.Name)
	if err != nil {
		return err
	}
	pod, err := h.getPod(ctx, info.Namespace, info.Name)
	if err != nil {
		return err
	}
	if container, err = podContainer(pod, container); err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		// Not scheduled: there is no log yet, and upstream answers an empty one.
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	kc, err := h.s.kubelet()
	if err != nil {
		return apierrors.NewServiceUnavailable(err.Error())
	}
	u, err := h.s.kubeletURL(ctx, pod.Spec.NodeName, "/containerLogs/"+pod.Namespace+"/"+pod.Name+"/"+container, query)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	resp, err := kc.transport.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return apierrors.NewInternalError(fmt.Errorf("dialing the kubelet of node %s: %w", pod.Spec.NodeName, err))
	}
	defer resp.Body.Close()
	if err := kubeletResponseError(resp, schema.GroupResource{Resource: "pods/log"}, info.Name); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain")
	if v := resp.Header.Get("Cache-Control"); v != "" {
		w.Header().Set("Cache-Control", v)
	}
	w.WriteHeader(http.StatusOK)
	flushCopy(w, resp.Body)
	return nil
}

// flushCopy copies src to w, flushing after every read so a followed log arrives as
// written.
func flushCopy(w http.ResponseWriter, src io.Reader) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// kubeletResponseError turns a kubelet's error answer into the Status upstream reports:
// its text as the message.
func kubeletResponseError(resp *http.Response, gr schema.GroupResource, name string) error {
	if resp.StatusCode >= 200 && resp.StatusCode <= 206 {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	text := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusBadRequest:
		return apierrors.NewBadRequest(text)
	case http.StatusInternalServerError:
		return apierrors.NewInternalError(errors.New(text))
	}
	return apierrors.NewGenericServerResponse(resp.StatusCode, "", gr, name, text, 0, false)
}

// servePodStream proxies pods/exec and pods/attach to the kubelet: SPDY and websocket
// connections as they come, except websocket clients of the v5 remote command protocol,
// whose stream the API server translates to SPDY, as upstream does.
func (h *resourceHandler) servePodStream(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	q := r.URL.Query()
	pod, err := h.getPod(ctx, info.Namespace, info.Name)
	if err != nil {
		return err
	}
	container, err := podContainer(pod, q.Get("container"))
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	opts := parseStreamOptions(q, info.Subresource == "exec")
	query := opts.query()
	query.Set("container", container)
	path := "/" + info.Subresource + "/" + pod.Namespace + "/" + pod.Name + "/" + container
	u, err := h.s.kubeletURL(ctx, pod.Spec.NodeName, path, query)
	if err != nil {
		return err
	}
	kc, err := h.s.kubelet()
	if err != nil {
		return apierrors.NewServiceUnavailable(err.Error())
	}
	if wsstream.IsWebSocketRequestWithStreamCloseProtocol(r) {
		h.s.translateRemoteCommand(w, r, kc, u, opts)
		return nil
	}
	h.s.proxyUpgrade(w, r, kc, u)
	return nil
}

// servePortForward proxies pods/portforward to the kubelet; websocket clients tunnelling
// SPDY are unwrapped, as upstream does.
func (h *resourceHandler) servePortForward(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	pod, err := h.getPod(ctx, info.Namespace, info.Name)
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	query := url.Values{}
	for _, p := range r.URL.Query()["ports"] {
		for _, one := range strings.Split(p, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(one), 10, 16)
			if err != nil || n == 0 {
				return apierrors.NewBadRequest(fmt.Sprintf("invalid port %q", one))
			}
			query.Add("port", strconv.FormatUint(n, 10))
		}
	}
	u, err := h.s.kubeletURL(ctx, pod.Spec.NodeName, "/portForward/"+pod.Namespace+"/"+pod.Name, query)
	if err != nil {
		return err
	}
	kc, err := h.s.kubelet()
	if err != nil {
		return apierrors.NewServiceUnavailable(err.Error())
	}
	if wsstream.IsWebSocketRequestWithTunnelingProtocol(r) {
		h.s.tunnelPortForward(w, r, kc, u)
		return nil
	}
	h.s.proxyUpgrade(w, r, kc, u)
	return nil
}

// nodeProxyTarget splits the name of a nodes/proxy request, "[scheme:]name[:port]", as
// upstream accepts it.
func nodeProxyTarget(name string) (scheme, node, port string, err error) {
	parts := strings.Split(name, ":")
	switch len(parts) {
	case 1:
		return "", parts[0], "", nil
	case 2:
		if parts[0] == "http" || parts[0] == "https" {
			return parts[0], parts[1], "", nil
		}
		return "", parts[0], parts[1], nil
	case 3:
		if parts[0] != "http" && parts[0] != "https" && parts[0] != "" {
			return "", "", "", apierrors.NewBadRequest(fmt.Sprintf("invalid scheme %q in %q", parts[0], name))
		}
		return parts[0], parts[1], parts[2], nil
	}
	return "", "", "", apierrors.NewBadRequest(fmt.Sprintf("invalid node name %q", name))
}

// serveNodeProxy proxies /api/v1/nodes/{name}/proxy/{path} to the node's kubelet.
func (h *resourceHandler) serveNodeProxy(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	scheme, nodeName, port, err := nodeProxyTarget(info.Name)
	if err != nil {
		return err
	}
	u, err := h.s.kubeletURL(ctx, nodeName, "", nil)
	if err != nil {
		return err
	}
	if scheme != "" {
		u.Scheme = scheme
	}
	if port != "" {
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			return apierrors.NewBadRequest(fmt.Sprintf("invalid port %q", port))
		}
		host, _, _ := net.SplitHostPort(u.Host)
		u.Host = net.JoinHostPort(host, port)
	}
	u.Path = nodeProxyPath(r.URL.Path)
	u.RawQuery = r.URL.RawQuery
	kc, err := h.s.kubelet()
	if err != nil {
		return apierrors.NewServiceUnavailable(err.Error())
	}
	h.s.proxyUpgrade(w, r, kc, u)
	return nil
}

// nodeProxyPath is the part of a nodes/{name}/proxy path after "proxy", "/" at least.
func nodeProxyPath(p string) string {
	i := strings.Index(p, "/proxy")
	if i < 0 {
		return "/"
	}
	rest := p[i+len("/proxy"):]
	if rest == "" {
		return "/"
	}
	return rest
}

// proxyUpgrade forwards the request to target on a kubelet: plain requests as they are,
// upgrade requests (SPDY, websocket) by splicing the two connections once the kubelet
// switches protocols. The client's credentials are not forwarded: the API server speaks
// with its own.
func (s *Server) proxyUpgrade(w http.ResponseWriter, r *http.Request, kc *kubeletClient, target *url.URL) {
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := *target
			pr.Out.URL = &u
			pr.Out.Host = target.Host
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Impersonate-User")
			pr.Out.Header.Del("Impersonate-Group")
		},
		Transport:     kc.transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			s.logger.Debug("proxying to a kubelet", "url", target.Redacted(), "err", err)
			writeStatusJSON(w, apierrors.NewServiceUnavailable(fmt.Sprintf("error trying to reach the kubelet: %v", err)).Status())
		},
	}
	p.ServeHTTP(w, r)
}
