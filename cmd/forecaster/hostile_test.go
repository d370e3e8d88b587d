package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/internal/testutil"
)

// stallUpload opens a connection to addr and starts a remote-write
// request that declares a 15 MiB body but sends only 1 KiB of it, then
// stalls. It returns the connection.
func stallUpload(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("POST /api/v1/write HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-protobuf\r\n"+
		"Content-Encoding: snappy\r\nContent-Length: %d\r\n\r\n", addr, 15<<20)
	if _, err := conn.Write(append([]byte(head), make([]byte, 1024)...)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestReadTimeout: with --web.read-timeout=1s, a stalled upload is cut
// off: the forecaster answers it or closes the connection, where without a
// read timeout it would hold the connection (and its buffers) for as long
// as the client likes. An idle keep-alive connection is closed too.
func TestReadTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fc := startForecaster(t, []string{"--workload=app", "--query=sum(load)", "--storage.path=" + filepath.Join(dir, "data"),
		"--web.read-timeout=1s"}, nil, true)
	testutil.WaitFor(t, 30*time.Second, "the forecaster", func() bool { code, _, _ := get(t, fc.url+"/-/healthy"); return code == http.StatusOK })
	addr := strings.TrimPrefix(fc.url, "http://")

	stalled := stallUpload(t, addr)
	// The deadline bounds the test, not the forecaster: it must end the
	// request long before (1 s).
	_ = stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
	answer, err := bufio.NewReader(stalled).ReadString('\n')
	if isTimeout(err) {
		t.Fatal("a stalled upload still held after 30 s with --web.read-timeout=1s")
	}
	t.Logf("stalled upload ended: %q, %v", answer, err)

	if !testutil.IdleClosed(t, addr, "/-/healthy", 30*time.Second) {
		t.Fatal("an idle connection still open after 30 s with --web.read-timeout=1s")
	}
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
