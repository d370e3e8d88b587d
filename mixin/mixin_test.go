package mixin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/formatter"
	"github.com/google/go-jsonnet/linter"
	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/HatiCode/kedastral/internal/proctest"
	"github.com/HatiCode/kedastral/internal/prometheustest"
	"github.com/HatiCode/kedastral/internal/testutil"
)

// TestGeneratedUpToDate renders the mixin and compares it with the
// committed generated/ files: `make mixin` must have been run.
func TestGeneratedUpToDate(t *testing.T) {
	files, err := Render(".")
	if err != nil {
		t.Fatal(err)
	}
	var committed []string
	err = filepath.WalkDir("generated", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			committed = append(committed, strings.TrimPrefix(filepath.ToSlash(path), "generated/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("generated", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("generated/%s is not what the mixin renders: run make mixin", name)
		}
	}
	for _, name := range committed {
		if _, ok := files[name]; !ok {
			t.Errorf("generated/%s is no longer rendered: run make mixin", name)
		}
	}
	for _, want := range []string{"alerts.yaml", "rules.yaml"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the mixin renders no %s", want)
		}
	}
}

// jsonnetFiles lists the mixin's jsonnet sources.
func jsonnetFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".libsonnet") || strings.HasSuffix(path, ".jsonnet")) {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJsonnetFormattedAndLinted: every source is as jsonnetfmt writes it,
// and jsonnet-lint finds nothing.
func TestJsonnetFormattedAndLinted(t *testing.T) {
	var snippets []linter.Snippet
	for _, path := range jsonnetFiles(t) {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		formatted, err := formatter.Format(path, string(src), formatter.DefaultOptions())
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if formatted != string(src) {
			t.Errorf("%s is not formatted: run go run github.com/google/go-jsonnet/cmd/jsonnetfmt -i %s", path, path)
		}
		snippets = append(snippets, linter.Snippet{FileName: path, Code: string(src)})
	}
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{"."}})
	var out bytes.Buffer
	if linter.LintSnippet(vm, &out, snippets) {
		t.Errorf("jsonnet-lint:\n%s", out.String())
	}
}

// TestRulesWithPromtool checks the generated rules and runs every rule
// unit test in tests/ with promtool.
func TestRulesWithPromtool(t *testing.T) {
	promtool := prometheustest.Binary(t, "promtool")
	if out, err := exec.Command(promtool, "check", "rules", "generated/alerts.yaml", "generated/rules.yaml").CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	tests, err := filepath.Glob("tests/*.yaml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule unit tests in tests/: %v", err)
	}
	out, err := exec.Command(promtool, append([]string{"test", "rules"}, tests...)...).CombinedOutput()
	if err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// ruleGroups reads a generated rule file.
func ruleGroups(t *testing.T, path string) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", path, errs)
	}
	return groups
}

// TestEveryAlertIsTested: each alert has a runbook section, a severity,
// a summary and a description, and appears in a rule unit test.
func TestEveryAlertIsTested(t *testing.T) {
	tests := ""
	paths, _ := filepath.Glob("tests/*.yaml")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tests += string(b)
	}
	runbooks, err := os.ReadFile(filepath.Join("..", "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range ruleGroups(t, "generated/alerts.yaml").Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !strings.Contains(tests, "alertname: "+r.Alert) {
				t.Errorf("alert %s has no rule unit test", r.Alert)
			}
			if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
				t.Errorf("alert %s has severity %q", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" || strings.Contains(r.Annotations["summary"], "{{") {
				t.Errorf("alert %s needs a static summary and a description", r.Alert)
			}
			if !strings.Contains(string(runbooks), "## "+r.Alert) || !strings.HasSuffix(r.Annotations["runbook_url"], "#"+strings.ToLower(r.Alert)) {
				t.Errorf("alert %s: runbook_url %q, and docs/runbooks.md needs a section ## %s", r.Alert, r.Annotations["runbook_url"], r.Alert)
			}
		}
	}
	if n < 8 {
		t.Errorf("%d alerts, want at least the 8 of the issue", n)
	}
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource any    `json:"datasource"`
	GridPos    struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func dashboards(t *testing.T) map[string]dashboard {
	t.Helper()
	paths, err := filepath.Glob("generated/dashboards/*.json")
	if err != nil || len(paths) < 2 {
		t.Fatalf("want the overview and operations dashboards, found %v (%v)", paths, err)
	}
	out := map[string]dashboard{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[filepath.Base(p)] = d
	}
	return out
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// TestDashboardsStructure stands in for screenshots: unique panel ids,
// panels inside the 24 columns, the datasource variable used everywhere,
// the job and workload variables, no empty query.
func TestDashboardsStructure(t *testing.T) {
	uids := map[string]bool{}
	for name, d := range dashboards(t) {
		if d.UID == "" || uids[d.UID] || d.Title == "" {
			t.Errorf("%s: uid %q (unique, required), title %q", name, d.UID, d.Title)
		}
		uids[d.UID] = true
		vars := map[string]string{}
		for _, v := range d.Templating.List {
			vars[v.Name] = v.Type
		}
		if vars["datasource"] != "datasource" || vars["job"] != "query" || vars["workload"] != "query" {
			t.Errorf("%s: template variables %v, want datasource (datasource), job and workload (query)", name, vars)
		}
		ids := map[int]bool{}
		panels := allPanels(d.Panels)
		if len(panels) == 0 {
			t.Errorf("%s has no panel", name)
		}
		for _, p := range panels {
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: panel %q has id %d, not unique or zero", name, p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: panel %q at gridPos %+v is outside the 24 columns", name, p.Title, p.GridPos)
			}
			if p.Type == "row" {
				continue
			}
			if ds, _ := json.Marshal(p.Datasource); !strings.Contains(string(ds), "${datasource}") {
				t.Errorf("%s: panel %q uses datasource %s, not ${datasource}", name, p.Title, ds)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", name, p.Title)
			}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q has an empty query", name, p.Title)
				}
			}
		}
	}
}

// grafanaVariable is a $name or ${name} of Grafana in a query.
var grafanaVariable = regexp.MustCompile(`\$\{?(\w+)\}?`)

// promQL replaces Grafana's variables so that a dashboard query parses.
func promQL(q string) string {
	return grafanaVariable.ReplaceAllStringFunc(q, func(v string) string {
		name := strings.Trim(v, "${}")
		if strings.HasPrefix(name, "__") {
			return "5m" // $__rate_interval, $__interval, $__range
		}
		return "x"
	})
}

// labelValues turns Grafana's label_values(selector, label) into the
// selector; other variable queries are returned as they are.
func labelValues(q string) string {
	if !strings.HasPrefix(q, "label_values(") {
		return q
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
	if i := strings.LastIndex(inner, ","); i >= 0 {
		inner = inner[:i]
	}
	return inner
}

// expressions returns every PromQL expression of the mixin, by where it is.
func expressions(t *testing.T) (map[string]string, []string) {
	t.Helper()
	exprs := map[string]string{}
	var recorded []string
	for _, file := range []string{"generated/alerts.yaml", "generated/rules.yaml"} {
		for _, g := range ruleGroups(t, file).Groups {
			for _, r := range g.Rules {
				exprs[file+" "+r.Alert+r.Record] = r.Expr
				if r.Record != "" {
					recorded = append(recorded, r.Record)
				}
			}
		}
	}
	for name, d := range dashboards(t) {
		for _, p := range allPanels(d.Panels) {
			for i, tg := range p.Targets {
				exprs[fmt.Sprintf("%s panel %q query %d", name, p.Title, i)] = promQL(tg.Expr)
			}
		}
		for _, v := range d.Templating.List {
			if q, ok := v.Query.(string); ok && v.Type == "query" {
				exprs[fmt.Sprintf("%s variable %s", name, v.Name)] = promQL(labelValues(q))
			}
		}
	}
	return exprs, recorded
}

// externalMetrics are the metrics the mixin may use that Kedastral does not
// expose: Prometheus's own up, and kube-state-metrics (docs/mixin.md).
var externalMetrics = []string{"up", "kube_deployment_status_replicas", "kube_deployment_spec_replicas",
	"kube_horizontalpodautoscaler_spec_max_replicas", "kube_horizontalpodautoscaler_status_current_replicas"}

// TestExpressionsUseRealMetrics parses every expression of the rules and the
// dashboards with Prometheus's parser, and checks that every metric each
// selects is one the forecaster or the scaler exposes (scraped from the real
// binaries), a recording rule of the mixin, or a documented external one.
func TestExpressionsUseRealMetrics(t *testing.T) {
	exposed := scrapeBinaries(t)
	exprs, recorded := expressions(t)
	known := map[string]bool{}
	for _, n := range append(append(exposed, recorded...), externalMetrics...) {
		known[n] = true
	}
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	for where, q := range exprs {
		expr, err := p.ParseExpr(q)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", where, q, err)
			continue
		}
		for _, sel := range parser.ExtractSelectors(expr) {
			for _, m := range sel {
				if m.Name != model.MetricNameLabel || m.Type != labels.MatchEqual {
					continue
				}
				used[m.Value] = true
				if !known[m.Value] {
					t.Errorf("%s uses %s, which nothing exposes", where, m.Value)
				}
			}
		}
	}
	if len(used) < 10 {
		t.Errorf("only %d metrics used: %v", len(used), used)
	}
}

// scrapeBinaries runs the forecaster (with a receiver, remote write and a
// forecast) and the scaler (after a call) and returns every metric name
// they expose, with the _bucket, _sum and _count of histograms.
func scrapeBinaries(t *testing.T) []string {
	t.Helper()
	prom := prometheustest.Start(t, prometheustest.Options{Args: []string{"--web.enable-remote-write-receiver"}})
	dir := t.TempDir()
	bins, err := proctest.Build(dir, map[string]string{"forecaster": "../cmd/forecaster", "scaler": "../cmd/scaler"})
	if err != nil {
		t.Fatal(err)
	}
	fcAddr := prometheustest.FreeAddr(t)
	proctest.Start(t, "forecaster", bins["forecaster"], []string{
		"--prometheus.url=" + prom.URL, "--web.enable-remote-write-receiver", "--storage.path=" + filepath.Join(dir, "data"),
		"--remote-write.url=" + prom.URL + "/api/v1/write", "--web.listen-address=" + fcAddr,
		"--workload=w", "--query=vector(100)", "--interval=1s", "--step=1s", "--window=20s", "--horizon=10s",
	}, nil)
	fcURL := "http://" + fcAddr
	testutil.WaitFor(t, time.Minute, "a forecast", func() bool {
		resp, err := http.Get(fcURL + "/forecast/current?workload=w")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// One remote write into the receiver, so that its request counter exists.
	if code := testutil.PushV1(t, fcURL+"/api/v1/write"); code != http.StatusNoContent {
		t.Fatalf("an empty remote write to the receiver: %d, want 204", code)
	}
	grpcAddr, scWeb := prometheustest.FreeAddr(t), prometheustest.FreeAddr(t)
	// The second forecaster answers 500: the source error counter exists
	// too. (A free address could be taken by another test's server by the
	// time the scaler dials it, and answer something else.)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	defer broken.Close()
	proctest.Start(t, "scaler", bins["scaler"], []string{"--forecaster.url=" + fcURL,
		"--forecaster.url=" + broken.URL, "--grpc.listen-address=" + grpcAddr,
		"--web.listen-address=" + scWeb, "--refresh-interval=100ms"}, nil)
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := externalscaler.NewExternalScalerClient(conn)
	testutil.WaitFor(t, time.Minute, "the scaler", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := client.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: &externalscaler.ScaledObjectRef{ScalerMetadata: map[string]string{"workload": "w"}}})
		return err == nil && len(scrape(t, "http://"+scWeb)) > 0 && slices.Contains(scrape(t, "http://"+scWeb), "kedastral_scaler_source_errors_total")
	})
	// The forecaster's accuracy and remote-write counters appear after a few
	// ticks.
	testutil.WaitFor(t, time.Minute, "the forecaster's series", func() bool {
		names := scrape(t, fcURL)
		return slices.Contains(names, "kedastral_forecast_error_ratio") && slices.Contains(names, "kedastral_remote_write_samples_sent_total")
	})
	return append(scrape(t, fcURL), scrape(t, "http://"+scWeb)...)
}

// scrape returns the metric names base/metrics exposes, none while it does
// not answer.
func scrape(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil
	}
	families := testutil.ParseText(t, body)
	var names []string
	for name, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		names = append(names, name)
		switch f.GetType().String() {
		case "HISTOGRAM", "SUMMARY":
			names = append(names, name+"_bucket", name+"_sum", name+"_count")
		}
	}
	return names
}
