package main

import (
	"io"
	"regexp"
	"testing"

	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/internal/doccheck"
)

// TestFlagsDocumented checks that section 2 of docs/configuration.md names
// every flag --help shows (see doccheck.NamesFlag).
func TestFlagsDocumented(t *testing.T) {
	app := cli.NewApp("forecaster", "", io.Discard)
	addFlags(app)
	doccheck.CheckFlags(t, app, regexp.MustCompile(`^\d+\. Command-line flags$`))
}
