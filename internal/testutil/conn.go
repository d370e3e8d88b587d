package testutil

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// IdleClosed sends GET path over a new connection to addr, reads the
// answer, sends nothing more, and reports whether the server closes the
// connection within limit: an HTTP server with a read or idle timeout
// does, one without keeps it open for as long as the client likes. The
// answer must be 200.
func IdleClosed(tb testing.TB, addr, path string, limit time.Duration) bool {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr); err != nil {
		tb.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s answered %s", path, resp.Status)
	}
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	_, err = r.ReadByte()
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}
