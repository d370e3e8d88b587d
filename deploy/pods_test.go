package deploy

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/HatiCode/kedastral/internal/config"
	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testpki"
)

// TestChartPodsStart runs every container the chart renders, as the
// kubelet would, with the static binaries of the images: the rendered
// arguments and environment, the ConfigMap as the config file, an empty
// volume as /data, a certificate Secret as /etc/kedastral/tls and an HTTP
// client configuration Secret as /etc/kedastral/source. Each must
// come up healthy and stop cleanly on SIGTERM, so a flag the commands do
// not know, or a configuration they refuse, fails here and not in a
// cluster.
func TestChartPodsStart(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("ci values: %v %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := renderCase(t, filepath.Base(file))
			cm := find[*corev1.ConfigMap](t, r, "ConfigMap", "kedastral-forecaster")
			// A StatefulSet's last pod: its ordinal is the shard index.
			last := map[string]int{}
			for _, s := range all[*appsv1.StatefulSet](r) {
				last[s.Name] = int(*s.Spec.Replicas) - 1
			}
			for name, pod := range r.podTemplates() {
				t.Run(name, func(t *testing.T) {
					runPod(t, name, last[name], pod, cm)
				})
			}
		})
	}
}

// runPod starts the container of pod number ordinal with its files in
// place and checks it is healthy, then stops it. A forecaster shard that
// owns no workload must also be ready: a shard left empty by the hash must
// not hold up a rolling update or a drain.
func runPod(t *testing.T, name string, ordinal int, pod corev1.PodTemplateSpec, cm *corev1.ConfigMap) {
	c := container(t, pod)
	binary := binaries[c.Name]
	if binary == "" {
		t.Fatalf("no binary for container %s", c.Name)
	}
	// The files the pod mounts.
	dir := t.TempDir()
	confDir, dataDir, tlsDir := filepath.Join(dir, "etc"), filepath.Join(dir, "data"), filepath.Join(dir, "tls")
	sourceDir := filepath.Join(dir, "source")
	for _, d := range []string{confDir, dataDir, tlsDir, sourceDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for file, content := range cm.Data {
		if err := os.WriteFile(filepath.Join(confDir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ca := testpki.NewCert(t, tlsDir, "ca", testpki.CA(), nil)
	testpki.NewCert(t, tlsDir, "tls", testpki.Server(), ca)
	// The Secret of scaler.sourceHTTPConfigSecret: http.yml and the files it names.
	if err := os.WriteFile(filepath.Join(sourceDir, "password"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpConfig := "basic_auth:\n  username: keda\n  password_file: " + filepath.Join(sourceDir, "password") + "\n"
	if err := os.WriteFile(filepath.Join(sourceDir, "http.yml"), []byte(httpConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	// The pod's environment: POD_NAME from the downward API, the shard
	// index from the pod-index label.
	podName := fmt.Sprintf("%s-%d", name, ordinal)
	shardCount := 1
	env := []string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env = append(env, e.Name+"="+podName)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.labels['apps.kubernetes.io/pod-index']":
			env = append(env, fmt.Sprintf("%s=%d", e.Name, ordinal))
		default:
			t.Fatalf("env %s: no stand-in for %+v", e.Name, e.ValueFrom)
		}
	}
	// The container's arguments, with the mounts and ports moved to the
	// test's, and $(POD_NAME) expanded as the kubelet does.
	var healthURL string
	var args []string
	for _, a := range c.Args {
		flag, value, _ := strings.Cut(a, "=")
		switch flag {
		case "--web.listen-address":
			addr := prometheustest.FreeAddr(t)
			healthURL = "http://" + addr + "/-/healthy"
			a = flag + "=" + addr
		case "--grpc.listen-address":
			a = flag + "=" + prometheustest.FreeAddr(t)
		case "--storage.path":
			a = flag + "=" + dataDir
		case "--shard.count":
			n, err := strconv.Atoi(value)
			if err != nil {
				t.Fatal(err)
			}
			shardCount = n
		}
		a = strings.ReplaceAll(a, "/etc/kedastral/tls/", tlsDir+"/")
		a = strings.ReplaceAll(a, "/etc/kedastral/source/", sourceDir+"/")
		a = strings.ReplaceAll(a, "/etc/kedastral/", confDir+"/")
		a = strings.ReplaceAll(a, "$(POD_NAME)", podName)
		if strings.Contains(a, "=/data") || strings.Contains(a, "=/etc/") {
			t.Fatalf("argument %q points at a path the test has not mounted", a)
		}
		args = append(args, a)
	}
	if healthURL == "" {
		t.Fatalf("%s has no --web.listen-address: %v", name, c.Args)
	}
	p := proctest.Start(t, name, binary, args, env)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(healthURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-p.Exited():
			t.Fatalf("%s exited at start: %v\n%s", name, p.Err(), p.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy after 30 s: %v", name, describe(err))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.Name == "forecaster" {
		cfg, err := config.Load([]byte(cm.Data["config.yaml"]), "")
		if err != nil {
			t.Fatal(err)
		}
		owned, err := config.Shard(cfg.Workloads, shardCount, ordinal%shardCount)
		if err != nil {
			t.Fatal(err)
		}
		if len(owned) == 0 {
			readyURL := strings.TrimSuffix(healthURL, "/-/healthy") + "/-/ready"
			resp, err := http.Get(readyURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("shard %d of %d owns no workload, yet /-/ready answers %d", ordinal, shardCount, resp.StatusCode)
			}
		}
	}
	p.Terminate(t)
}

// describe names a polling error.
func describe(err error) string {
	if err == nil {
		return "unhealthy answer"
	}
	return fmt.Sprint(err)
}
