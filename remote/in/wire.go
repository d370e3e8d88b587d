package in

import (
	"bytes"
	"errors"
	"fmt"
	"math"
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

// Tags of the fields above of wire type bytes, each one byte in wire
// format, as every encoder writes them; and of a Sample's fields (value:
// fixed64, timestamp: varint).
const (
	tagSeriesLabels     = fieldSeriesLabels<<3 | byte(protowire.BytesType)
	tagSeriesSamples    = fieldSeriesSamples<<3 | byte(protowire.BytesType)
	tagSeriesExemplars  = fieldSeriesExemplars<<3 | byte(protowire.BytesType)
	tagSeriesHistograms = fieldSeriesHistograms<<3 | byte(protowire.BytesType)
	tagLabelName        = fieldLabelName<<3 | byte(protowire.BytesType)
	tagLabelValue       = fieldLabelValue<<3 | byte(protowire.BytesType)
	tagSampleValue      = 1<<3 | byte(protowire.Fixed64Type)
	tagSampleTimestamp  = 2<<3 | byte(protowire.VarintType)
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

// seriesPeek is what peekSeriesV1 reads of a series in wire format.
type seriesPeek struct {
	// name is the metric name.
	name   []byte
	counts seriesCounts
	// newest is the newest timestamp of the float samples, math.MinInt64
	// without any.
	newest int64
	// prev is the name of the last label read, to check their order.
	prev []byte
	// labels is the number of labels read.
	labels int
}

// peekSeriesV1 reads a TimeSeries in wire format without decoding it: its
// metric name, the number of samples, histograms and exemplars, and the
// newest timestamp of its float samples. It is ok when the labels are valid
// as checkLabels would find them (sorted, unique, valid UTF-8 names and
// values, a metric name) and the decoder would read the series (each field
// it knows of the wire type it expects, samples, labels and exemplars well
// formed; histograms are only counted). Nothing is allocated. A series it
// does not find ok is decoded in full, and its labels sorted before they
// are checked.
func peekSeriesV1(raw []byte) (seriesPeek, bool) {
	p := seriesPeek{newest: math.MinInt64}
	for len(raw) > 0 {
		var num protowire.Number
		n := 1
		switch raw[0] {
		case tagSeriesLabels, tagSeriesSamples, tagSeriesExemplars, tagSeriesHistograms:
			num = protowire.Number(raw[0] >> 3)
		default:
			var typ protowire.Type
			if num, typ, n = protowire.ConsumeTag(raw); n < 0 {
				return seriesPeek{}, false
			}
			if num < fieldSeriesLabels || num > fieldSeriesHistograms {
				// A field the decoder does not know: skipped, as it does.
				m := protowire.ConsumeFieldValue(num, typ, raw[n:])
				if m < 0 {
					return seriesPeek{}, false
				}
				raw = raw[n+m:]
				continue
			}
			if typ != protowire.BytesType {
				return seriesPeek{}, false // the decoder refuses it
			}
		}
		v, m := protowire.ConsumeBytes(raw[n:])
		if m < 0 || !p.field(num, v) {
			return seriesPeek{}, false
		}
		raw = raw[n+m:]
	}
	if len(p.name) == 0 {
		return seriesPeek{}, false
	}
	return p, true
}

// field reads one field of a TimeSeries, of number num and value v; false
// when it makes the series not ok.
func (p *seriesPeek) field(num protowire.Number, v []byte) bool {
	switch num {
	case fieldSeriesLabels:
		ln, lv, ok := peekLabel(v)
		if !ok || len(ln) == 0 || !utf8.Valid(ln) || !utf8.Valid(lv) || (p.labels > 0 && bytes.Compare(p.prev, ln) >= 0) {
			return false
		}
		if string(ln) == model.MetricNameLabel {
			p.name = lv
		}
		p.prev = ln
		p.labels++
	case fieldSeriesSamples:
		t, ok := peekSample(v)
		if !ok {
			return false
		}
		p.newest = max(p.newest, t)
		p.counts.samples++
	case fieldSeriesHistograms:
		p.counts.histograms++
	case fieldSeriesExemplars:
		if !peekExemplar(v) {
			return false
		}
		p.counts.exemplars++
	}
	return true
}

// wireField is one field of a message in wire format: its number and type,
// and its value as a varint (x) or bytes (v).
type wireField struct {
	num protowire.Number
	typ protowire.Type
	x   uint64
	v   []byte
}

// nextField consumes the next field of a message in wire format; false
// when it is malformed.
func nextField(raw *[]byte) (wireField, bool) {
	num, typ, n := protowire.ConsumeTag(*raw)
	if n < 0 {
		return wireField{}, false
	}
	*raw = (*raw)[n:]
	f := wireField{num: num, typ: typ}
	switch typ {
	case protowire.VarintType:
		f.x, n = protowire.ConsumeVarint(*raw)
	case protowire.BytesType:
		f.v, n = protowire.ConsumeBytes(*raw)
	default:
		n = protowire.ConsumeFieldValue(num, typ, *raw)
	}
	if n < 0 {
		return wireField{}, false
	}
	*raw = (*raw)[n:]
	return f, true
}

// wantType reports whether field f, if its number is one of want's
// indexes, has the wire type want gives it: the decoder refuses the message
// otherwise. Fields of other numbers are skipped by the decoder.
func wantType(f wireField, want ...protowire.Type) bool {
	return int(f.num) >= len(want) || f.num < 1 || f.typ == want[f.num]
}

// peekLabel returns the name and value of a Label in wire format (fields 1
// and 2, bytes).
func peekLabel(raw []byte) (name, value []byte, ok bool) {
	for len(raw) > 0 {
		var n int
		switch raw[0] {
		case tagLabelName:
			name, n = protowire.ConsumeBytes(raw[1:])
		case tagLabelValue:
			value, n = protowire.ConsumeBytes(raw[1:])
		default:
			f, ok := nextField(&raw)
			if !ok || !wantType(f, 0, protowire.BytesType, protowire.BytesType) {
				return nil, nil, false
			}
			switch f.num {
			case fieldLabelName:
				name = f.v
			case fieldLabelValue:
				value = f.v
			}
			continue
		}
		if n < 0 {
			return nil, nil, false
		}
		raw = raw[1+n:]
	}
	return name, value, true
}

// peekSample returns the timestamp of a Sample in wire format (value:
// field 1, fixed64; timestamp: field 2, varint).
func peekSample(raw []byte) (t int64, ok bool) {
	for len(raw) > 0 {
		switch raw[0] {
		case tagSampleValue:
			if len(raw) < 9 {
				return 0, false
			}
			raw = raw[9:]
		case tagSampleTimestamp:
			x, n := protowire.ConsumeVarint(raw[1:])
			if n < 0 {
				return 0, false
			}
			t = int64(x) //nolint:gosec // the decoder reads the varint as int64 too
			raw = raw[1+n:]
		default:
			f, ok := nextField(&raw)
			if !ok || !wantType(f, 0, protowire.Fixed64Type, protowire.VarintType) {
				return 0, false
			}
			if f.num == 2 {
				t = int64(f.x) //nolint:gosec // as above
			}
		}
	}
	return t, true
}

// peekExemplar reports whether an Exemplar in wire format is well formed
// (labels: field 1, Label messages; value: field 2, fixed64; timestamp:
// field 3, varint).
func peekExemplar(raw []byte) bool {
	for len(raw) > 0 {
		f, ok := nextField(&raw)
		if !ok || !wantType(f, 0, protowire.BytesType, protowire.Fixed64Type, protowire.VarintType) {
			return false
		}
		if f.num == 1 {
			if _, _, ok := peekLabel(f.v); !ok {
				return false
			}
		}
	}
	return true
}
