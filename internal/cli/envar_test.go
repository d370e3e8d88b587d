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
