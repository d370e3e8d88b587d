package main

import (
	"io"
	"regexp"
	"testing"

	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/internal/doccheck"
)

// TestFlagsDocumented checks that the scaler's section of
// docs/configuration.md (the first heading naming the scaler) names every
// flag --help shows (see doccheck.NamesFlag).
func TestFlagsDocumented(t *testing.T) {
	app := cli.NewApp("scaler", "", io.Discard)
	addFlags(app)
	doccheck.CheckFlags(t, app, regexp.MustCompile(`(?i)\bscaler\b`))
}
