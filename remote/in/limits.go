package in

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"
)

// Limits bound what the receiver accepts, as Prometheus's scrape limits
// (label_limit, label_name_length_limit, label_value_length_limit) and
// Thanos receive's request limits do. Zero means no limit. Each names the
// forecaster flag that sets it, so that an answer over a limit says which.
type Limits struct {
	// SeriesPerRequest and SamplesPerRequest (samples and histograms)
	// bound one request: a request over either is refused whole with 413,
	// before anything of it is stored.
	SeriesPerRequest, SamplesPerRequest int
	// LabelsPerSeries, LabelNameLength and LabelValueLength (in bytes)
	// bound a series kept: one over them is refused and the others of the
	// request stored, with a 400 that lists it.
	LabelsPerSeries, LabelNameLength, LabelValueLength int
	// Series bounds the active series the storage holds (its head): once
	// it holds that many, a series it does not hold yet is refused (400),
	// and those it holds keep receiving samples. It needs
	// ReceiverOptions.Series.
	Series int
}

// SeriesCounter tells the receiver how many active series the storage
// holds and whether it holds one, for Limits.Series. *Storage is one.
type SeriesCounter interface {
	HeadSeries() uint64
	HasSeries(ls labels.Labels) bool
}

// DefaultLimits are far above what Prometheus sends (at most 2,000 samples a
// request by default) and what a label set of a service needs, and bound
// what one request can make the forecaster decode and store.
func DefaultLimits() Limits {
	return Limits{
		SeriesPerRequest: 50_000, SamplesPerRequest: 1_000_000,
		LabelsPerSeries: 128, LabelNameLength: 1024, LabelValueLength: 16 << 10,
		Series: 100_000,
	}
}

// Names of the limits in kedastral_receiver_limited_total{limit}, and the
// flags that set them.
const (
	limitSeriesPerRequest  = "series_per_request"
	limitSamplesPerRequest = "samples_per_request"
	limitLabelsPerSeries   = "labels_per_series"
	limitLabelNameLength   = "label_name_length"
	limitLabelValueLength  = "label_value_length"
	limitSeries            = "series"
)

// limitFlags are the flags that set each limit, named in refusals.
func limitFlags() map[string]string {
	return map[string]string{
		limitSeriesPerRequest:  "--receiver.max-series-per-request",
		limitSamplesPerRequest: "--receiver.max-samples-per-request",
		limitLabelsPerSeries:   "--receiver.max-labels-per-series",
		limitLabelNameLength:   "--receiver.max-label-name-length",
		limitLabelValueLength:  "--receiver.max-label-value-length",
		limitSeries:            "--receiver.max-series",
	}
}

// limitError is a refusal over a limit.
type limitError struct {
	limit string
	msg   string
}

func (e *limitError) Error() string {
	return fmt.Sprintf("%s, over the limit (%s)", e.msg, limitFlags()[e.limit])
}

// checkRequest returns a *limitError when a request of series series and
// samples samples is over a per-request limit.
func (l Limits) checkRequest(series, samples int) error {
	switch {
	case l.SeriesPerRequest > 0 && series > l.SeriesPerRequest:
		return &limitError{limitSeriesPerRequest, fmt.Sprintf("%d series in the request, more than %d", series, l.SeriesPerRequest)}
	case l.SamplesPerRequest > 0 && samples > l.SamplesPerRequest:
		return &limitError{limitSamplesPerRequest, fmt.Sprintf("%d samples in the request, more than %d", samples, l.SamplesPerRequest)}
	}
	return nil
}

// checkSeries returns a *limitError when a series' labels are over a
// per-series limit.
func (l Limits) checkSeries(ls []labels.Label) error {
	if l.LabelsPerSeries > 0 && len(ls) > l.LabelsPerSeries {
		return &limitError{limitLabelsPerSeries, fmt.Sprintf("%d labels, more than %d", len(ls), l.LabelsPerSeries)}
	}
	for _, lb := range ls {
		if l.LabelNameLength > 0 && len(lb.Name) > l.LabelNameLength {
			return &limitError{limitLabelNameLength, fmt.Sprintf("a label name of %d bytes, more than %d", len(lb.Name), l.LabelNameLength)}
		}
		if l.LabelValueLength > 0 && len(lb.Value) > l.LabelValueLength {
			return &limitError{limitLabelValueLength, fmt.Sprintf("label %.64s has a value of %d bytes, more than %d", lb.Name, len(lb.Value), l.LabelValueLength)}
		}
	}
	return nil
}

// checkNewSeries returns a *limitError when the storage holds its limit of
// active series and ls is not one of them. Series kept earlier in the same
// request count as new until committed, so that a request cannot overshoot
// the limit by more than what it held already.
func (b *batch) checkNewSeries(ls labels.Labels) error {
	limit, sc := b.rc.limits.Series, b.rc.series
	if limit <= 0 || sc == nil {
		return nil
	}
	if b.head < 0 {
		b.head = int(min(sc.HeadSeries(), uint64(math.MaxInt32))) //nolint:gosec // bounded
	}
	if b.head+b.kept < limit || sc.HasSeries(ls) {
		b.kept++
		return nil
	}
	return &limitError{limitSeries, fmt.Sprintf("a new series %s while %d are active, the most kept", ls, b.head)}
}

// countV1 counts the series and the samples and histograms of a
// remote-write 1.0 request in wire format, without decoding it.
func countV1(body []byte) (series, samples int, err error) {
	for len(body) > 0 {
		raw, err := nextSeriesV1(&body)
		if err != nil {
			return 0, 0, err
		}
		if raw == nil {
			continue
		}
		series++
		for len(raw) > 0 {
			num, typ, n := protowire.ConsumeTag(raw)
			if n < 0 {
				return 0, 0, &decodeError{errMalformed}
			}
			raw = raw[n:]
			if n = protowire.ConsumeFieldValue(num, typ, raw); n < 0 {
				return 0, 0, &decodeError{errMalformed}
			}
			raw = raw[n:]
			if typ == protowire.BytesType && (num == fieldSeriesSamples || num == fieldSeriesHistograms) {
				samples++
			}
		}
	}
	return series, samples, nil
}

// checkRequest returns the refusal of a request of series series and
// samples samples over a per-request limit, counted and logged; nil when
// it is within them.
func (rc *Receiver) checkRequest(series, samples int) error {
	err := rc.limits.checkRequest(series, samples)
	if le, ok := errors.AsType[*limitError](err); ok {
		rc.limited.WithLabelValues(le.limit).Inc()
		rc.logger.Warn("Remote write refused over a limit", "limit", le.limit, "series", series, "samples", samples)
	}
	return err
}
