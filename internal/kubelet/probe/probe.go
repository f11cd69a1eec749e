package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Result of one probe run.
type Result int

// Probe results.
const (
	Unknown Result = iota
	Success
	Failure
)

func (r Result) String() string { return [...]string{"unknown", "success", "failure"}[r] }

// ExecSyncer runs a command in a container (CRI ExecSync).
type ExecSyncer interface {
	ExecSync(ctx context.Context, in *runtimeapi.ExecSyncRequest, opts ...grpc.CallOption) (*runtimeapi.ExecSyncResponse, error)
}

// UserAgent of HTTP probes, as upstream's "kube-probe/<major>.<minor>".
const UserAgent = "kube-probe/1.37"

// maxOutput bounds what a probe keeps of a body or a command's output.
const maxOutput = 10 * 1024

// Exec runs cmd in the container; a zero exit code is success. The context's deadline is
// the probe's timeout.
func Exec(ctx context.Context, rt ExecSyncer, containerID string, cmd []string) (Result, string, error) {
	timeout := int64(0)
	if d, ok := ctx.Deadline(); ok {
		timeout = max(int64(time.Until(d).Round(time.Second)/time.Second), 1)
	}
	resp, err := rt.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: containerID, Cmd: cmd, Timeout: timeout})
	if err != nil {
		if ctx.Err() != nil || strings.Contains(err.Error(), "timeout") {
			return Failure, fmt.Sprintf("command %q timed out", strings.Join(cmd, " ")), nil
		}
		return Unknown, "", err
	}
	out := string(resp.Stdout) + string(resp.Stderr)
	if len(out) > maxOutput {
		out = out[:maxOutput]
	}
	if resp.ExitCode != 0 {
		return Failure, out, nil
	}
	return Success, out, nil
}

// ResolvePort turns a probe's port (a number or a container port name) into a number.
func ResolvePort(port intstr.IntOrString, c *corev1.Container) (int, error) {
	if port.Type == intstr.Int {
		if port.IntVal <= 0 || port.IntVal > 65535 {
			return 0, fmt.Errorf("invalid port number: %d", port.IntVal)
		}
		return int(port.IntVal), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	if n, err := strconv.Atoi(port.StrVal); err == nil && n > 0 && n <= 65535 {
		return n, nil
	}
	return 0, fmt.Errorf("couldn't find port: %v in %v", port.StrVal, c.Name)
}

// HTTPGet requests the action's URL on podIP (or its host); a 2xx or 3xx answer is
// success. client, when nil, is a client that skips TLS verification and follows
// redirects within the same host.
func HTTPGet(ctx context.Context, action *corev1.HTTPGetAction, podIP string, c *corev1.Container, client *http.Client) (Result, string, error) {
	port, err := ResolvePort(action.Port, c)
	if err != nil {
		return Failure, err.Error(), nil
	}
	host := action.Host
	if host == "" {
		host = podIP
	}
	scheme := strings.ToLower(string(action.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := action.Path
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	if path != "" {
		if parsed, err := url.Parse(path); err == nil {
			u.Path, u.RawQuery = parsed.Path, parsed.RawQuery
		} else {
			u.Path = path
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Failure, err.Error(), nil
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "*/*")
	for _, h := range action.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	if client == nil {
		client = defaultHTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Failure, fmt.Sprintf("Get %q: context deadline exceeded (Client.Timeout exceeded while awaiting headers)", u.String()), nil
		}
		return Failure, err.Error(), nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return Success, string(body), nil
	}
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode), nil
}

var defaultHTTPClient = &http.Client{
	Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, as upstream
		DisableKeepAlives: true,
		Proxy:             nil,
	},
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Hostname() != via[0].URL.Hostname() {
			return http.ErrUseLastResponse // another host: the redirect itself counts as success
		}
		return nil
	},
}

// TCP opens a connection to host:port; success when it connects.
func TCP(ctx context.Context, host string, port int) (Result, string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return Failure, err.Error(), nil
	}
	conn.Close()
	return Success, "", nil
}

// GRPC calls the gRPC health checking protocol's Check on host:port; SERVING is success.
func GRPC(ctx context.Context, host string, port int, service string) (Result, string, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithUserAgent(UserAgent))
	if err != nil {
		return Failure, fmt.Sprintf("failed to connect service %q: %v", addr, err), nil
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if ctx.Err() != nil {
			return Failure, fmt.Sprintf("timeout: health rpc did not complete within the probe's timeout"), nil
		}
		return Failure, fmt.Sprintf("failed to connect service %q: %v", addr, err), nil
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.Status.String()), nil
	}
	return Success, "", nil
}
