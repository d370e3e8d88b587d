package in

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/HatiCode/kedastral/internal/clip"
)

// checkLabels refuses a label set that has no metric name, a name or value
// that is not valid UTF-8 (or an empty name), or labels that are not sorted
// by name or repeat one. The receiver sorts labels before it checks them,
// so that only a repeated name is refused of the last two.
func checkLabels(ls []labels.Label) error {
	if len(ls) == 0 {
		return errors.New("no labels")
	}
	hasName := false
	for i, l := range ls {
		if !model.UTF8Validation.IsValidLabelName(l.Name) {
			return fmt.Errorf("invalid label name %q", clip.String(l.Name))
		}
		if !utf8.ValidString(l.Value) {
			return fmt.Errorf("label %s has a value that is not valid UTF-8", clip.String(l.Name))
		}
		if l.Name == model.MetricNameLabel {
			hasName = l.Value != ""
		}
		if i > 0 {
			switch prev := ls[i-1].Name; {
			case prev == l.Name:
				return fmt.Errorf("duplicate label %s", clip.String(l.Name))
			case prev > l.Name:
				return fmt.Errorf("labels not sorted by name: %s after %s", clip.String(l.Name), clip.String(prev))
			}
		}
	}
	if !hasName {
		return errors.New("no metric name (__name__ label)")
	}
	return nil
}

// byName orders labels by name.
func byName(x, y labels.Label) int { return strings.Compare(x.Name, y.Name) }

// scratchLabels prints labels that are not a labels.Labels, in errors.
type scratchLabels []labels.Label

func (s scratchLabels) String() string { return labels.New(s...).String() }
