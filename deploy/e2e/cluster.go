package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// startTimeout bounds the wait for one part of the control plane to be up.
const startTimeout = 3 * time.Minute

// ClusterOptions configures a control plane.
type ClusterOptions struct {
	// Bin is the directory scripts/e2e-build.sh built the binaries into.
	Bin string
	// IP is the private address the API server and KEDA's metrics server
	// listen on: the aggregation layer refuses loopback endpoints.
	IP net.IP
	// HPASync is the HPA controller's sync period.
	HPASync time.Duration
}

// Cluster is a running control plane: etcd, kube-apiserver,
// kube-controller-manager, and KEDA's operator and metrics API server.
type Cluster struct {
	// Config is an admin's REST config, and Kubeconfig its file.
	Config     *rest.Config
	Kubeconfig string
	// Dir holds the certificates, data and logs.
	Dir string

	opts  ClusterOptions
	token string
}

// StartCluster starts a control plane in a temporary directory and waits
// until each part serves. Everything is stopped when the test ends.
func StartCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	c := &Cluster{Dir: tb.TempDir(), opts: opts, token: "e2e-admin-token"}
	pki(tb, c.Dir, opts.IP)
	etcd := c.startEtcd(tb)
	c.startAPIServer(tb, etcd)
	c.startControllerManager(tb)
	return c
}

// path returns the path of a file in the cluster's directory.
func (c *Cluster) path(name string) string { return filepath.Join(c.Dir, name) }

// bin returns the path of a built binary.
func (c *Cluster) bin(name string) string { return filepath.Join(c.opts.Bin, name) }

// startEtcd starts etcd on 127.0.0.1 and returns its client URL.
func (c *Cluster) startEtcd(tb testing.TB) string {
	tb.Helper()
	client, peer := "http://"+prometheustest.FreeAddr(tb), "http://"+prometheustest.FreeAddr(tb)
	proctest.Start(tb, "etcd", c.bin("etcd"), []string{
		"--data-dir=" + c.path("etcd"), "--name=e2e",
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=e2e=" + peer, "--log-level=warn",
	}, nil)
	waitHTTP(tb, "etcd", &http.Client{Timeout: time.Second}, client+"/health", "")
	return client
}

// startAPIServer starts kube-apiserver on the private address, with the
// aggregation layer on and routing to endpoints, so that KEDA's metrics
// server is reached at its Endpoints' address without a kube-proxy.
func (c *Cluster) startAPIServer(tb testing.TB, etcd string) {
	tb.Helper()
	if err := os.WriteFile(c.path("tokens.csv"), []byte(c.token+",admin,admin,system:masters\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	host := net.JoinHostPort(c.opts.IP.String(), "6443")
	proctest.Start(tb, "kube-apiserver", c.bin("kube-apiserver"), []string{
		"--etcd-servers=" + etcd,
		"--bind-address=" + c.opts.IP.String(), "--advertise-address=" + c.opts.IP.String(), "--secure-port=6443",
		"--tls-cert-file=" + c.path("apiserver.crt"), "--tls-private-key-file=" + c.path("apiserver.key"),
		"--client-ca-file=" + c.path("ca.crt"), "--cert-dir=" + c.path("apiserver-certs"),
		"--token-auth-file=" + c.path("tokens.csv"), "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + c.path("sa.pub"), "--service-account-signing-key-file=" + c.path("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/24",
		"--requestheader-client-ca-file=" + c.path("front-proxy-ca.crt"),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + c.path("front-proxy-client.crt"), "--proxy-client-key-file=" + c.path("front-proxy-client.key"),
		"--enable-aggregator-routing=true",
	}, nil)
	c.Config = &rest.Config{
		Host: "https://" + host, BearerToken: c.token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.path("ca.crt")},
		QPS:             50, Burst: 100,
	}
	c.Kubeconfig = c.path("kubeconfig")
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: e2e, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: e2e, context: {cluster: e2e, user: admin, namespace: default}}]
current-context: e2e
`, c.Config.Host, c.path("ca.crt"), c.token)
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		tb.Fatal(err)
	}
	waitHTTP(tb, "kube-apiserver", c.httpClient(tb), c.Config.Host+"/readyz", c.token)
}

// startControllerManager starts kube-controller-manager with its default
// controllers (Deployments, ReplicaSets, the HPA, service accounts,
// EndpointSlice mirroring among them).
func (c *Cluster) startControllerManager(tb testing.TB) {
	tb.Helper()
	_, port, err := net.SplitHostPort(prometheustest.FreeAddr(tb))
	if err != nil {
		tb.Fatal(err)
	}
	proctest.Start(tb, "kube-controller-manager", c.bin("kube-controller-manager"), []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=" + port, "--cert-dir=" + c.path("kcm-certs"),
		"--leader-elect=false", "--use-service-account-credentials=false",
		"--service-account-private-key-file=" + c.path("sa.key"), "--root-ca-file=" + c.path("ca.crt"),
		"--horizontal-pod-autoscaler-sync-period=" + c.opts.HPASync.String(),
	}, nil)
}

// httpClient returns a client that trusts the cluster's CA.
func (c *Cluster) httpClient(tb testing.TB) *http.Client {
	tb.Helper()
	tlsConfig, err := rest.TLSConfigFor(c.Config)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
}

// waitHTTP waits until url answers 200, sending token as a bearer token
// when set.
func waitHTTP(tb testing.TB, name string, client *http.Client, url, token string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			tb.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(500 * time.Millisecond)
	}
	tb.Fatalf("%s did not answer 200 at %s within %v: %s", name, url, startTimeout, last)
}
