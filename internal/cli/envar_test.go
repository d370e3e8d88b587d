package cli

import (
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

func TestEnvarName(t *testing.T) {
	tests := map[string]string{
		"web.listen-address": "KEDASTRAL_WEB_LISTEN_ADDRESS",
		"prometheus.url":     "KEDASTRAL_PROMETHEUS_URL",
		"lead-time":          "KEDASTRAL_LEAD_TIME",
		"log.level":          "KEDASTRAL_LOG_LEVEL",
		"a..b":               "KEDASTRAL_A_B",
	}
	for flag, want := range tests {
		if got := EnvarName(flag); got != want {
			t.Errorf("EnvarName(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestSetEnvars(t *testing.T) {
	t.Setenv("KEDASTRAL_LEAD_TIME", "7m")
	t.Setenv("KEDASTRAL_HEADROOM", "1.5")
	t.Setenv("KEDASTRAL_LISTEN", ":1") // hidden flags get no variable
	app := kingpin.New("test", "")
	lead := app.Flag("lead-time", "").Default("5m").String()
	headroom := app.Flag("headroom", "").Default("1.2").String()
	listen := app.Flag("listen", "").Hidden().Default(":2").String()
	SetEnvars(app)
	// The command line wins over the variable.
	if _, err := app.Parse([]string{"--headroom=2"}); err != nil {
		t.Fatal(err)
	}
	if *lead != "7m" || *headroom != "2" || *listen != ":2" {
		t.Errorf("lead-time %q, headroom %q, listen %q; want 7m (variable), 2 (flag), :2 (default)", *lead, *headroom, *listen)
	}
}

func TestIntVar(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		want    int
		wantErr string
	}{
		{arg: "7", want: 7},
		{arg: "-3", want: -3},
		{arg: "0", want: 0},
		// kingpin's IntVar reads these with ParseFloat: 0, 4 and 1000000.
		{arg: "0.9", wantErr: `--n="0.9" is not a whole number in the range of an int`},
		{arg: "4.9", wantErr: `--n="4.9" is not a whole number in the range of an int`},
		{arg: "1e6", wantErr: `--n="1e6" is not a whole number in the range of an int`},
		// 2^64 overflows an int64.
		{arg: "18446744073709551616", wantErr: `--n="18446744073709551616" is not a whole number in the range of an int`},
		{arg: "seven", wantErr: `--n="seven" is not a whole number in the range of an int`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			app := kingpin.New("test", "")
			n := 42
			IntVar(app.Flag("n", "").Default("5"), &n)
			_, err := app.Parse([]string{"--n=" + tc.arg})
			switch {
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Errorf("error %v, want %q", err, tc.wantErr)
			case tc.wantErr == "" && (err != nil || n != tc.want):
				t.Errorf("n = %d, %v; want %d", n, err, tc.want)
			}
		})
	}
	// The default is read the same way.
	app := kingpin.New("test", "")
	n := 0
	IntVar(app.Flag("n", "").Default("5"), &n)
	if _, err := app.Parse(nil); err != nil || n != 5 {
		t.Errorf("default: n = %d, %v; want 5", n, err)
	}
}
