package main

import (
	"io"
	"regexp"
	"testing"

	"github.com/prometheus/common/promslog"

	"github.com/HatiCode/kedastral/internal/cli"
	"github.com/HatiCode/kedastral/internal/doccheck"
)

// TestFlagsDocumented checks that the demo's section of
// docs/configuration.md names every flag --help shows (see
// doccheck.NamesFlag).
func TestFlagsDocumented(t *testing.T) {
	app := cli.NewApp("demo", "", io.Discard)
	addFlags(app, &options{}, &promslog.Config{})
	doccheck.CheckFlags(t, app, regexp.MustCompile(`(?i)\bdemo\b`))
}
