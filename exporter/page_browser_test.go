package exporter

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HatiCode/kedastral/forecast"
)

// artifactsEnv names the directory where the browser test saves its
// screenshot and DOM (a temporary directory when unset).
const artifactsEnv = "KEDASTRAL_TEST_ARTIFACTS"

// TestPageInBrowser loads the page in headless Chromium: the charts must be
// drawn in the DOM after the scripts ran, the in-place refresh must have
// replaced the workloads with the fragment, and the screenshot must be a
// real picture.
func TestPageInBrowser(t *testing.T) {
	bin := findChromium(t)
	store := storeOf(wavySnapshot("checkout", true), wavySnapshot("search", false))
	page := NewPage(store, PageOptions{
		Name:    "Kedastral forecaster",
		Version: "test",
		Links: []PageLink{
			{Address: "/metrics", Text: "Metrics", Description: "kedastral_forecast_* series"},
			{Address: "/-/ready", Text: "Readiness"},
		},
		Now: func() time.Time { return generated.Add(20 * time.Second) },
	})
	// A workload appears after the first page load: only the refresh can
	// bring it into the DOM.
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page.ServeHTTP(w, r)
		if r.URL.Path == "/" && r.URL.RawQuery == "" {
			once.Do(func() { store.Put(wavySnapshot("cart", true)) })
		}
	}))
	defer srv.Close()
	dir := artifactDir(t)

	// 15 s of virtual time: the refresh fires once, at 10 s.
	dom := runChromium(t, bin, "--virtual-time-budget=15000", "--dump-dom", srv.URL+"/")
	save(t, filepath.Join(dir, "forecaster-page.html"), dom)
	charts := svgPaths(t, dom)
	if len(charts) != 3 {
		t.Fatalf("%d charts in the DOM, want 3 (checkout, search and, after the refresh, cart)", len(charts))
	}
	for i, want := range [][]string{
		{"band", "observed", "forecast", "replicas"},
		{"band", "observed", "forecast", "replicas"},
		{"observed", "forecast", "replicas"},
	} {
		for _, class := range want {
			if charts[i][class] == "" {
				t.Errorf("chart %d: no drawn %s path, got %v", i, class, charts[i])
			}
		}
	}
	if !strings.Contains(string(dom), "<h2>cart</h2>") {
		t.Error("the refresh did not bring the new workload into the page")
	}
	// Each card says what set its replicas now.
	if n := strings.Count(string(dom), `<span class="decision">(`); n != 3 {
		t.Errorf("%d cards say what set their replicas, want 3", n)
	}

	shot := filepath.Join(dir, "forecaster-page.png")
	runChromium(t, bin, "--hide-scrollbars", "--window-size=1280,900", "--screenshot="+shot, srv.URL+"/")
	checkScreenshot(t, shot, 1280, 900)
	t.Logf("screenshot: %s", shot)
}

// wavySnapshot is two hours of a daily-looking wave and half an hour of
// forecast, with replicas at 50 per pod.
func wavySnapshot(name string, interval bool) forecast.Snapshot {
	s := forecast.Snapshot{
		Workload: name, Metric: "sum(rate(http_requests_total[1m]))", Model: "holtwinters", ConfiguredModel: "auto",
		GeneratedAt: generated, ObservedAt: generated, StepSeconds: 60, HorizonSeconds: 1800,
	}
	wave := func(i int) float64 { return 220 + 120*math.Sin(2*math.Pi*float64(i)/150) }
	for i := -119; i <= 0; i++ {
		s.Recent = append(s.Recent, wave(i)+float64((i*37+1000)%11)-5)
	}
	s.ObservedValue = s.Recent[len(s.Recent)-1]
	for i := range 30 {
		v := wave(i)
		s.Values = append(s.Values, v)
		s.DesiredReplicas = append(s.DesiredReplicas, int(math.Ceil(v*1.2/50)))
		if interval {
			s.Lower = append(s.Lower, v-10-float64(i))
			s.Upper = append(s.Upper, v+10+float64(i))
		}
	}
	if interval {
		s.LowerQuantile, s.UpperQuantile = 0.1, 0.9
	}
	// The reactive floor, as the planner makes it: what the load observed
	// now needs, below which desired[0] does not go.
	s.ReactiveFloor, s.ForecastReplicas = int(math.Ceil(s.ObservedValue*1.2/50)), s.DesiredReplicas[0]
	s.DecidedBy, s.PlanBasis, s.PlanHeadroom = "forecast", "forecast", 1.2
	if s.ReactiveFloor > s.DesiredReplicas[0] {
		s.DesiredReplicas[0], s.DecidedBy = s.ReactiveFloor, "reactive_floor"
	}
	return s
}

// findChromium returns Debian's chromium, or skips the test without one,
// and under -short, which leaves out the tests that start processes.
func findChromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Chromium: not run under -short")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not found: run scripts/install-chromium.sh (or apt-get install chromium) to run the browser test")
	}
	return bin
}

// runChromium runs headless Chromium with its own profile and returns its
// standard output.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	args = append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-proxy-server", "--user-data-dir=" + t.TempDir(),
	}, args...)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// svgPaths returns, for each chart <svg> of an HTML document, the d
// attribute of its <path> elements by class.
func svgPaths(t *testing.T, doc []byte) []map[string]string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict, dec.AutoClose, dec.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	var charts []map[string]string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return charts
		}
		if err != nil {
			t.Fatalf("parse the DOM: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		switch {
		case !ok:
		case el.Name.Local == "svg" && attr(el, "class") == "chart":
			charts = append(charts, map[string]string{})
		case el.Name.Local == "path" && len(charts) > 0:
			charts[len(charts)-1][attr(el, "class")] = strings.TrimSpace(attr(el, "d"))
		}
	}
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// checkScreenshot checks that file is a PNG of width × height pixels that
// is not a single colour.
func checkScreenshot(t *testing.T, file string, width, height int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode the screenshot: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(width, height) {
		t.Errorf("screenshot of %v, want %dx%d", got, width, height)
	}
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 10 {
		t.Errorf("screenshot has %d colours: nothing was drawn", len(colours))
	}
}

// artifactDir returns $KEDASTRAL_TEST_ARTIFACTS, created if need be, or a
// temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func save(t *testing.T, file string, data []byte) {
	t.Helper()
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
