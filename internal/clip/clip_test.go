package clip

import (
	"strings"
	"testing"
)

func TestN(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short", "checkout", 200, "checkout"},
		{"exactly n bytes", strings.Repeat("a", 5), 5, "aaaaa"},
		// 8 bytes, 5 kept: 3 cut.
		{"cut", "abcdefgh", 5, "abcde…(+3 bytes)"},
		// "é" is 2 bytes: 6 characters in 12 bytes, 5 kept (10 bytes), 2 cut.
		{"multi-byte", strings.Repeat("é", 6), 5, strings.Repeat("é", 5) + "…(+2 bytes)"},
		// 5 characters in 10 bytes: longer than n bytes, but not than n characters.
		{"n characters in more bytes", strings.Repeat("é", 5), 5, strings.Repeat("é", 5)},
		// Invalid UTF-8 counts a byte a character.
		{"invalid UTF-8", "\xff\xfe\xfd\xfc\xfb\xfa", 4, "\xff\xfe\xfd\xfc…(+2 bytes)"},
		{"empty", "", 5, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := N(tc.s, tc.n); got != tc.want {
				t.Errorf("N(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
			}
		})
	}
	// A 3 MB workload name is logged as 200 characters and a count.
	long := strings.Repeat("w", 3<<20)
	if got := String(long); len(got) > Max+len("…(+3145528 bytes)") || !strings.HasSuffix(got, "…(+3145528 bytes)") {
		t.Errorf("String of 3 MiB: %d bytes ending %q", len(got), got[len(got)-20:])
	}
}
