// Package doccheck holds the documentation to the code, for tests: every
// visible flag of a command is named in its section of
// docs/configuration.md, every Go package of the repository in the package
// table of docs/architecture.md. A flag or a package added without its
// documentation then fails a test instead of drifting.
package doccheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kingpin/v2"

	"github.com/HatiCode/kedastral/internal/prometheustest"
)

// The documents checked, relative to the repository's root.
const (
	Configuration = "docs/configuration.md"
	Architecture  = "docs/architecture.md"
)

// Module is the path of the repository's main module; the packages of the
// table are named relative to it (deploy/ is a module of its own below it).
const Module = "github.com/HatiCode/kedastral"

// Flags returns the long names of the flags of app that --help shows, in
// the order they were defined: hidden flags (aliases, --help-long,
// --help-man) are left out, kingpin's --help and --version are in.
func Flags(app *kingpin.Application) []string {
	var names []string
	for _, f := range app.Model().Flags {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	}
	return names
}

// NamesFlag reports whether text names the flag as a command line writes
// it: --name, or --[no-]name as --help shows a boolean flag, not followed
// by more of a flag name, so that --web.config.file does not name
// --web.config (a sentence's full stop after the name does not count as
// more of it).
func NamesFlag(text, name string) bool {
	for _, prefix := range []string{"--", "--[no-]"} {
		needle := prefix + name
		for rest := text; ; {
			i := strings.Index(rest, needle)
			if i < 0 {
				break
			}
			rest = rest[i+len(needle):]
			if !continuesName(rest) {
				return true
			}
		}
	}
	return false
}

// continuesName reports whether rest, the text right after a flag's name,
// continues that name: a letter, a digit or '_', or a '.' or '-' followed
// by one.
func continuesName(rest string) bool {
	switch {
	case rest == "":
		return false
	case isNameByte(rest[0]):
		return true
	case rest[0] == '.' || rest[0] == '-':
		return len(rest) > 1 && isNameByte(rest[1])
	}
	return false
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// MissingFlags returns the flags of app that --help shows and text does not
// name (see NamesFlag), in the order they were defined.
func MissingFlags(app *kingpin.Application, text string) []string {
	var missing []string
	for _, name := range Flags(app) {
		if !NamesFlag(text, name) {
			missing = append(missing, name)
		}
	}
	return missing
}

// Section returns the part of the Markdown document doc that starts at the
// first heading whose text (without its #s) heading matches, and ends
// before the next heading of the same or a higher level. Lines inside
// fenced code blocks (``` or ~~~) are not headings.
func Section(doc string, heading *regexp.Regexp) (string, error) {
	var out strings.Builder
	level, fenced := 0, false
	for line := range strings.Lines(doc) {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fenced = !fenced
		}
		if l, text := headingOf(line); l > 0 && !fenced {
			if level > 0 && l <= level {
				break
			}
			if level == 0 && heading.MatchString(text) {
				level = l
			}
		}
		if level > 0 {
			out.WriteString(line)
		}
	}
	if level == 0 {
		return "", fmt.Errorf("no heading matches %q", heading)
	}
	return out.String(), nil
}

// headingOf returns the level and text of an ATX heading ("## Text"), or 0
// when line is none.
func headingOf(line string) (int, string) {
	level := len(line) - len(strings.TrimLeft(line, "#"))
	if level == 0 || level > 6 || (len(line) > level && line[level] != ' ') {
		return 0, ""
	}
	return level, strings.TrimSpace(line[level:])
}

// FirstColumn returns the first cell of every row of the Markdown tables
// in text, one a line: where a flags table documents its flags
// ("| `--web.listen-address=<address>` | `:8081` | ...").
func FirstColumn(text string) string {
	return strings.Join(firstCells(text), "\n")
}

// FirstCells returns the code spans in the first cell of every row of the
// Markdown tables in text, in order: in a package table, the packages it
// names ("| `cmd/forecaster`, `cmd/scaler` | ..." names both).
func FirstCells(text string) []string {
	var names []string
	for _, cell := range firstCells(text) {
		names = append(names, codeSpans(cell)...)
	}
	return names
}

// firstCells returns the first cell of every table row in text: every line
// that starts with '|' and has a second one.
func firstCells(text string) []string {
	var cells []string
	for line := range strings.Lines(text) {
		row := strings.Split(strings.TrimSpace(line), "|")
		if len(row) >= 3 && row[0] == "" {
			cells = append(cells, row[1])
		}
	}
	return cells
}

// codeSpans returns the code spans of text: what is between each pair of
// backticks.
func codeSpans(text string) []string {
	var spans []string
	parts := strings.Split(text, "`")
	for i := 1; i < len(parts)-1; i += 2 {
		spans = append(spans, parts[i])
	}
	return spans
}

// Packages returns the Go packages of the module at dir, as `go list ./...`
// lists them there (packages that do not build included), each named
// relative to Module: "remote/in", "deploy/e2e".
func Packages(ctx context.Context, dir string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-f", "{{.ImportPath}}", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []string
	for _, path := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(path, Module+"/")
		if !ok {
			rel = "."
		}
		pkgs = append(pkgs, rel)
	}
	return pkgs, nil
}

// ReadDoc returns the document at path, relative to the repository's root.
func ReadDoc(tb testing.TB, path string) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(prometheustest.ModuleRoot(tb), filepath.FromSlash(path)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// CheckFlags fails tb for every flag of app that --help shows and that
// has no row in the section of docs/configuration.md under the first
// heading that heading matches: that is not named (see NamesFlag) in the
// first column of a table there. A flag mentioned only in prose, or in
// another flag's row, does not count. It fails tb too when there is no
// such section.
func CheckFlags(tb testing.TB, app *kingpin.Application, heading *regexp.Regexp) {
	tb.Helper()
	section, err := Section(ReadDoc(tb, Configuration), heading)
	if err != nil {
		tb.Fatalf("%s has no section for %s's flags: %v", Configuration, app.Name, err)
	}
	for _, name := range MissingFlags(app, FirstColumn(section)) {
		tb.Errorf("%s --%s is not documented in %s, section %q: give it a row, --%s in its first cell, in the flags table there",
			app.Name, name, Configuration, firstLine(section), name)
	}
}

// firstLine returns text's first line.
func firstLine(text string) string {
	line, _, _ := strings.Cut(text, "\n")
	return line
}
