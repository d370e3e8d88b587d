package read

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	promremote "github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// backfillPiece is the span read and appended at once: memory stays bounded
// by what the selected series hold over it.
const backfillPiece = 2 * time.Hour

// chunkedReadLimit bounds one frame of a streamed remote-read answer, as
// Prometheus's default does.
const chunkedReadLimit = 50 << 20

// NewReadClient returns a remote-read client of the Prometheus at rawURL
// (its /api/v1/read endpoint), with the same authentication and TLS settings
// as queries.
func NewReadClient(rawURL string, httpConfig config.HTTPClientConfig, timeout time.Duration) (promremote.ReadClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("remote read url: %w", err)
	}
	u = u.JoinPath("api/v1/read")
	client, err := promremote.NewReadClient("backfill", &promremote.ClientConfig{
		URL:              &config.URL{URL: u},
		Timeout:          model.Duration(timeout),
		HTTPClientConfig: httpConfig,
		ChunkedReadLimit: chunkedReadLimit,
	}, config.WithUserAgent("kedastral/"+version.Version))
	if err != nil {
		return nil, fmt.Errorf("remote read client: %w", err)
	}
	return client, nil
}

// Backfill reads, by remote read, the raw samples of every series that the
// selectors match from from to to, and appends them to app in time order,
// a piece of two hours at a time. Samples already stored, and older ones the
// storage cannot take any more, are skipped and counted. It returns the
// samples appended and skipped.
func Backfill(ctx context.Context, client promremote.ReadClient, app storage.AppendableV2, selectors [][]*labels.Matcher, from, to time.Time, logger *slog.Logger) (appended, skipped int, err error) {
	if len(selectors) == 0 || !from.Before(to) {
		return 0, 0, nil
	}
	for start := from; start.Before(to); start = start.Add(backfillPiece) {
		end := start.Add(backfillPiece)
		if end.After(to) {
			end = to
		}
		samples, err := readPiece(ctx, client, selectors, start, end)
		if err != nil {
			return appended, skipped, err
		}
		a, s, err := appendInOrder(ctx, app, samples)
		appended, skipped = appended+a, skipped+s
		if err != nil {
			return appended, skipped, err
		}
		logger.Debug("Backfilled a piece of history", "from", start, "to", end, "samples", a)
	}
	return appended, skipped, nil
}

// backfillSample is one sample of one series.
type backfillSample struct {
	ls labels.Labels
	t  int64
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// readPiece reads every selected series over [start, end), each once even
// when several selectors match it.
func readPiece(ctx context.Context, client promremote.ReadClient, selectors [][]*labels.Matcher, start, end time.Time) ([]backfillSample, error) {
	queries := make([]*prompb.Query, 0, len(selectors))
	for _, sel := range selectors {
		q, err := promremote.ToQuery(start.UnixMilli(), end.UnixMilli()-1, sel, nil)
		if err != nil {
			return nil, fmt.Errorf("remote read query: %w", err)
		}
		queries = append(queries, q)
	}
	set, err := client.ReadMultiple(ctx, queries, true)
	if err != nil {
		return nil, fmt.Errorf("remote read: %w", err)
	}
	seen := map[uint64]bool{}
	var out []backfillSample
	var it chunkenc.Iterator
	for set.Next() {
		series := set.At()
		ls := series.Labels()
		if seen[ls.Hash()] {
			continue
		}
		seen[ls.Hash()] = true
		it = series.Iterator(it)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			s := backfillSample{ls: ls}
			switch vt {
			case chunkenc.ValFloat:
				s.t, s.v = it.At()
			case chunkenc.ValHistogram:
				s.t, s.h = it.AtHistogram(nil)
			case chunkenc.ValFloatHistogram:
				s.t, s.fh = it.AtFloatHistogram(nil)
			}
			out = append(out, s)
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("remote read %s: %w", ls, err)
		}
	}
	if err := set.Err(); err != nil {
		return nil, fmt.Errorf("remote read: %w", err)
	}
	return out, nil
}

// appendInOrder appends samples sorted by time and commits them.
func appendInOrder(ctx context.Context, app storage.AppendableV2, samples []backfillSample) (appended, skipped int, err error) {
	slices.SortStableFunc(samples, func(a, b backfillSample) int { return cmp.Compare(a.t, b.t) })
	a := app.AppenderV2(ctx)
	for _, s := range samples {
		_, err := a.Append(0, s.ls, 0, s.t, s.v, s.h, s.fh, storage.AOptions{})
		switch {
		case err == nil:
			appended++
		case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrOutOfBounds),
			errors.Is(err, storage.ErrDuplicateSampleForTimestamp), errors.Is(err, storage.ErrTooOldSample):
			skipped++
		default:
			_ = a.Rollback()
			return 0, 0, fmt.Errorf("append backfilled sample of %s: %w", s.ls, err)
		}
	}
	if err := a.Commit(); err != nil {
		return 0, 0, fmt.Errorf("commit backfilled samples: %w", err)
	}
	return appended, skipped, nil
}
