package doccheck

import (
	"regexp"
	"slices"
	"testing"

	"github.com/alecthomas/kingpin/v2"
)

func TestNamesFlag(t *testing.T) {
	for _, tc := range []struct {
		text, name string
		want       bool
	}{
		{"| `--web.config.file=<file>` | none |", "web.config.file", true},
		{"| `--[no-]web.enable-lifecycle` | `false` |", "web.enable-lifecycle", true},
		{"set --step.", "step", true},
		{"--log.level", "log.level", true},
		{"--step-", "step", true},
		{"`--web.config.file`", "web.config", false},
		{"`--log.level`", "log", false},
		{"`--lead-time-query`", "lead-time", false},
		{"`--lead-time-query` and `--lead-time`", "lead-time", true},
		{"`--no-reactive-floor`", "reactive-floor", false},
		{"`-reactive-floor`", "reactive-floor", false},
		{"`--start.timeout`", "start", false},
		{"`--startx`", "start", false},
		{"web.config.file", "web.config.file", false},
		{"", "step", false},
	} {
		if got := NamesFlag(tc.text, tc.name); got != tc.want {
			t.Errorf("NamesFlag(%q, %q) = %v, want %v", tc.text, tc.name, got, tc.want)
		}
	}
}

func TestMissingFlags(t *testing.T) {
	app := kingpin.New("cmd", "")
	app.Version("1")
	app.Flag("listen", "").String()
	app.Flag("alias", "").Hidden().String()
	app.Flag("check", "").Bool()
	app.Flag("start.timeout", "").String()
	if got, want := Flags(app), []string{"help", "version", "listen", "check", "start.timeout"}; !slices.Equal(got, want) {
		t.Fatalf("Flags = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"`--help` `--version` `--listen` `--[no-]check` `--start.timeout`", nil},
		{"`--help` `--version` `--listen` `--check` `--start.timeout` `--alias`", nil},
		{"`--help` `--version` `--listen` `--start.timeout`", []string{"check"}},
		{"`--help` `--version` `--listen=<addr>` `--check` `--start`", []string{"start.timeout"}},
		{"", []string{"help", "version", "listen", "check", "start.timeout"}},
	} {
		if got := MissingFlags(app, tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("MissingFlags(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// doc is a Markdown document with nested sections and a fenced block whose
// comment lines look like headings.
const doc = `# Title
intro
## 1. Flags
a
### 1.1 General
b
` + "```yaml\n# not a heading\n## nor this\n```" + `
c
## 2. Files
d
## 3. Scaler flags
e
`

func TestSection(t *testing.T) {
	for _, tc := range []struct {
		heading string
		want    string
	}{
		{`^\d+\. Flags$`, "## 1. Flags\na\n### 1.1 General\nb\n```yaml\n# not a heading\n## nor this\n```\nc\n"},
		{`General`, "### 1.1 General\nb\n```yaml\n# not a heading\n## nor this\n```\nc\n"},
		{`(?i)\bscaler\b`, "## 3. Scaler flags\ne\n"},
		{`^Title$`, doc},
		{`not a heading`, ""},
		{`(?i)\bbacktest\b`, ""},
	} {
		got, err := Section(doc, regexp.MustCompile(tc.heading))
		if tc.want == "" {
			if err == nil {
				t.Errorf("Section(%q) = %q, want an error", tc.heading, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Section(%q) = %q, %v; want %q", tc.heading, got, err, tc.want)
		}
	}
}

func TestFirstColumn(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string
	}{
		{"| Flag | Meaning |\n|---|---|\n| `--check` | with `--start.timeout` |\n| `-h`, `--help` | help |\n", " Flag \n---\n `--check` \n `-h`, `--help` "},
		{"prose naming `--check` | once\n", ""},
		{"", ""},
	} {
		if got := FirstColumn(tc.text); got != tc.want {
			t.Errorf("FirstColumn(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestFirstCells(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"| Package | Idea |\n|---|---|\n| `forecast` | the `Model`s |\n", []string{"forecast"}},
		{"| `cmd/forecaster`, `cmd/scaler` | mains |\n| `deploy` (a module) | chart |\n", []string{"cmd/forecaster", "cmd/scaler", "deploy"}},
		{"text with `code` | and a pipe\n", nil},
		{"| `unclosed | x |\n", nil},
		{"", nil},
	} {
		if got := FirstCells(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("FirstCells(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

// TestCheckFlagsFails checks that CheckFlags fails for a flag the
// configuration reference does not name, and passes for one it does.
func TestCheckFlagsFails(t *testing.T) {
	for _, tc := range []struct {
		flag     string
		heading  string
		wantFail bool
	}{
		{"config.file", `^\d+\. Command-line flags$`, false},
		{"no-such-flag-anywhere", `^\d+\. Command-line flags$`, true},
		{"config.file", `^no such heading$`, true},
	} {
		app := kingpin.New("cmd", "")
		app.HelpFlag.Hidden()
		app.Flag(tc.flag, "").String()
		rec := &recorder{TB: t}
		func() {
			defer func() { _ = recover() }()
			CheckFlags(rec, app, regexp.MustCompile(tc.heading))
		}()
		if rec.failed != tc.wantFail {
			t.Errorf("CheckFlags(--%s, %q) failed = %v, want %v", tc.flag, tc.heading, rec.failed, tc.wantFail)
		}
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(string, ...any) { r.failed = true }

func (r *recorder) Fatalf(string, ...any) {
	r.failed = true
	panic("Fatalf")
}

func (r *recorder) Fatal(...any) {
	r.failed = true
	panic("Fatal")
}
