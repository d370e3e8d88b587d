package main

import (
	"io"
	"regexp"
	"testing"

	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/internal/doccheck"
)

// TestFlagsDocumented checks that the backtest's section of
// docs/configuration.md names every flag --help shows (see
// doccheck.NamesFlag).
func TestFlagsDocumented(t *testing.T) {
	app := cli.NewApp("backtest", "", io.Discard)
	addFlags(app)
	doccheck.CheckFlags(t, app, regexp.MustCompile(`(?i)\bbacktest\b`))
}
