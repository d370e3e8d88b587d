package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/HatiCode/kedastral/internal/testpki"
)

// pki writes the control plane's certificates into dir:
//
//   - ca.crt/key signs the API server's and KEDA's serving certificates;
//   - apiserver.crt/key serves the API on ip, 127.0.0.1 and the first
//     address of the service range (the kubernetes Service);
//   - front-proxy-ca.crt and front-proxy-client.crt/key: the aggregation
//     layer's client certificate, which KEDA's metrics server trusts;
//   - keda.crt/key with ca.crt: KEDA's metrics server and the gRPC between
//     its operator and metrics server (tls.crt, tls.key, ca.crt in keda/);
//   - sa.key and sa.pub sign and check service account tokens.
func pki(tb testing.TB, dir string, ip net.IP) {
	tb.Helper()
	ca := testpki.NewCert(tb, dir, "ca", testpki.CA(), nil)
	server := testpki.Server("kubernetes", "kubernetes.default", "kubernetes.default.svc", "localhost")
	server.IPAddresses = append(server.IPAddresses, ip, net.ParseIP("10.96.0.1"))
	testpki.NewCert(tb, dir, "apiserver", server, ca)

	proxyCA := testpki.NewCert(tb, dir, "front-proxy-ca", testpki.CA(), nil)
	testpki.NewCert(tb, dir, "front-proxy-client", testpki.Client(), proxyCA)

	kedaDir := filepath.Join(dir, "keda")
	if err := os.MkdirAll(kedaDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	keda := testpki.Server("keda-operator", "keda-operator.keda", "keda-operator.keda.svc", "keda-operator.keda.svc.cluster.local",
		"keda-operator-metrics-apiserver.keda.svc", "localhost")
	keda.IPAddresses = append(keda.IPAddresses, ip)
	keda.ExtKeyUsage = append(keda.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	testpki.NewCert(tb, kedaDir, "tls", keda, ca)
	link(tb, filepath.Join(dir, "ca.crt"), filepath.Join(kedaDir, "ca.crt"))

	sa := testpki.NewCert(tb, dir, "sa", testpki.CA(), nil)
	pub, err := x509.MarshalPKIXPublicKey(&sa.Key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// link copies the file from to to.
func link(tb testing.TB, from, to string) {
	tb.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}
