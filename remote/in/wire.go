package in

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the remote-write 1.0 messages (prompb/remote.proto and
// types.proto).
const (
	fieldWriteRequestTimeseries = 1
	fieldSeriesLabels           = 1
	fieldSeriesSamples          = 2
	fieldSeriesExemplars        = 3
	fieldSeriesHistograms       = 4
	fieldLabelName              = 1
	fieldLabelValue             = 2
)

// decodeError is a request body that is not the protobuf message its content
// type names: a 400.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return "decode remote-write 1.0 request: " + e.err.Error() }

// Unwrap returns what failed to decode.
func (e *decodeError) Unwrap() error { return e.err }

var errMalformed = errors.New("truncated or malformed protobuf")

// nextSeriesV1 consumes the next field of a WriteRequest from body and
// returns it when it is a time series, nil for any other field (metadata).
func nextSeriesV1(body *[]byte) ([]byte, error) {
	num, typ, n := protowire.ConsumeTag(*body)
	if n < 0 {
		return nil, &decodeError{errMalformed}
	}
	*body = (*body)[n:]
	if num == fieldWriteRequestTimeseries && typ != protowire.BytesType {
		return nil, &decodeError{fmt.Errorf("time series field of wire type %d", typ)}
	}
	if num != fieldWriteRequestTimeseries {
		if n = protowire.ConsumeFieldValue(num, typ, *body); n < 0 {
			return nil, &decodeError{errMalformed}
		}
		*body = (*body)[n:]
		return nil, nil
	}
	raw, n := protowire.ConsumeBytes(*body)
	if n < 0 {
		return nil, &decodeError{errMalformed}
	}
	*body = (*body)[n:]
	return raw, nil
}

// seriesCounts are the float samples, histograms and exemplars of one series
// entry of a request.
type seriesCounts struct {
	samples, histograms, exemplars int
}

// points returns the samples and histograms.
func (c seriesCounts) points() int { return c.samples + c.histograms }

// peekSeriesV1 reads the labels of a TimeSeries in wire format without
// decoding it: it returns the metric name and the number of samples,
// histograms and exemplars, and ok when the labels are valid as checkLabels would find them
// (sorted, unique, valid UTF-8 names and values, a metric name). Nothing is
// allocated. A series it does not find ok is decoded in full, and its
// labels sorted before they are checked.
func peekSeriesV1(raw []byte) (name []byte, c seriesCounts, ok bool) {
	var prev []byte
	labels := 0
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return nil, seriesCounts{}, false
		}
		raw = raw[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, raw); n < 0 {
				return nil, seriesCounts{}, false
			}
			raw = raw[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(raw)
		if n < 0 {
			return nil, seriesCounts{}, false
		}
		raw = raw[n:]
		switch num {
		case fieldSeriesLabels:
			ln, lv, ok := peekLabel(v)
			if !ok || len(ln) == 0 || !utf8.Valid(ln) || !utf8.Valid(lv) || (labels > 0 && bytes.Compare(prev, ln) >= 0) {
				return nil, seriesCounts{}, false
			}
			if string(ln) == model.MetricNameLabel {
				name = lv
			}
			prev = ln
			labels++
		case fieldSeriesSamples:
			c.samples++
		case fieldSeriesHistograms:
			c.histograms++
		case fieldSeriesExemplars:
			c.exemplars++
		}
	}
	return name, c, len(name) > 0
}

// peekLabel returns the name and value of a Label in wire format.
func peekLabel(raw []byte) (name, value []byte, ok bool) {
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return nil, nil, false
		}
		raw = raw[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, raw); n < 0 {
				return nil, nil, false
			}
			raw = raw[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(raw)
		if n < 0 {
			return nil, nil, false
		}
		raw = raw[n:]
		switch num {
		case fieldLabelName:
			name = v
		case fieldLabelValue:
			value = v
		}
	}
	return name, value, true
}
