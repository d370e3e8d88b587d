package benchproc

import "testing"

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0", 999: "999", 1000: "1,000", 1234567.6: "1,234,568", -45678: "-45,678",
	} {
		if got := Thousands(in); got != want {
			t.Errorf("Thousands(%v) = %q, want %q", in, got, want)
		}
	}
}
