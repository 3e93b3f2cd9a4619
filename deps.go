//go:build tools

package tools

import (
	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/ebitengine/purego"
	_ "github.com/jdkato/prose/v2"
	_ "github.com/jonreiter/govader"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/segmentio/kafka-go"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "golang.org/x/sync/errgroup"
	_ "gonum.org/v1/gonum/graph"
)
