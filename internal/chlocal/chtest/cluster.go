package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"commpulse/internal/chlocal"
)

// ClusterName is the name of the test cluster in the servers'
// remote_servers configuration (what Distributed tables and
// store.Cluster.Name refer to).
const ClusterName = "commpulse_test"

// ClusterShards is the number of shards of the test cluster.
const ClusterShards = 2

var (
	clusterOnce sync.Once
	clusterSrvs []*chlocal.Server
	clusterDir  string // holds the config file; Main removes it
	errCluster  error
)

// Cluster returns the test binary's shared two-shard cluster, starting it on
// first use: one embedded server per shard, each started with a config file
// whose remote_servers section lists both shards (one replica each) by their
// shielded native addresses, the stable ones. There is no Keeper, so no
// replication and no ON CLUSTER DDL: a test reaches each shard itself. Main
// closes the servers. Two servers take about 1-2 s to start and ~210 MB
// of memory each.
func Cluster(t testing.TB) []*chlocal.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs ClickHouse engines; skipped with -short")
	}
	clusterOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// The remote_servers section must name the shields' ports before
		// the engines start, so the ports are picked here; one taken in
		// between makes Start fail, and the cluster is tried on fresh ones.
		for attempt := 1; attempt <= 3; attempt++ {
			clusterSrvs, errCluster = startCluster(ctx, ClusterShards)
			if errCluster == nil || !strings.Contains(errCluster.Error(), "address already in use") {
				return
			}
		}
	})
	if errCluster != nil {
		t.Fatalf("chtest: start ClickHouse cluster: %v", errCluster)
	}
	return clusterSrvs
}

func startCluster(ctx context.Context, shards int) ([]*chlocal.Server, error) {
	ports, err := freePorts(2 * shards)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "chtest-cluster-")
	if err != nil {
		return nil, err
	}
	if clusterDir != "" {
		_ = os.RemoveAll(clusterDir)
	}
	clusterDir = dir
	config := filepath.Join(dir, "cluster.xml")
	if err := os.WriteFile(config, ClusterConfig(ClusterName, ports[:shards]), 0o644); err != nil {
		return nil, err
	}
	var srvs []*chlocal.Server
	for i := range shards {
		srv, err := chlocal.Start(ctx, chlocal.Config{Progress: os.Stderr, AutoRestart: true, ConfigFile: config,
			TCPPort: ports[i], HTTPPort: ports[shards+i]})
		if err != nil {
			closeAll(srvs)
			return nil, fmt.Errorf("shard %d: %w", i+1, err)
		}
		srvs = append(srvs, srv)
	}
	return srvs, nil
}

// ClusterConfig is a ClickHouse configuration file declaring cluster name
// with one shard per port, each a single replica on 127.0.0.1.
func ClusterConfig(name string, ports []int) []byte {
	shards := make([][]string, len(ports))
	for i, p := range ports {
		shards[i] = []string{fmt.Sprintf("127.0.0.1:%d", p)}
	}
	return ClusterConfigReplicas(name, shards)
}

// ClusterConfigReplicas is a ClickHouse configuration file declaring
// cluster name with the given shards, each a list of replica addresses
// (host:port). A shard of more than one replica gets internal_replication,
// as on a replicated cluster: a Distributed insert writes to one replica.
func ClusterConfigReplicas(name string, shards [][]string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "<clickhouse>\n  <remote_servers>\n    <%s>\n", name)
	for _, reps := range shards {
		b.WriteString("      <shard>")
		if len(reps) > 1 {
			b.WriteString("<internal_replication>true</internal_replication>")
		}
		for _, a := range reps {
			host, port, _ := net.SplitHostPort(a)
			fmt.Fprintf(&b, "<replica><host>%s</host><port>%s</port></replica>", host, port)
		}
		b.WriteString("</shard>\n")
	}
	fmt.Fprintf(&b, "    </%s>\n  </remote_servers>\n</clickhouse>\n", name)
	return []byte(b.String())
}

// PrivateCluster starts a cluster of the test's own, named name: servers[i]
// servers for shard i (its replicas, each with tables of its own: there is
// no replication here), and a remote_servers section listing for shard i
// its servers followed by extra[i] (addresses the test provides, e.g. a
// proxy to a server posing as one more replica, or an address nobody
// listens on). It returns the servers per shard. They are closed, and the
// configuration removed, in t.Cleanup. Ports are picked before the servers
// start; one taken in between fails the test.
func PrivateCluster(t testing.TB, name string, servers []int, extra map[int][]string) [][]*chlocal.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs ClickHouse engines; skipped with -short")
	}
	total := 0
	for _, n := range servers {
		total += n
	}
	ports, err := freePorts(2 * total)
	if err != nil {
		t.Fatal(err)
	}
	layout := make([][]string, len(servers))
	next := 0
	for i, n := range servers {
		for range n {
			layout[i] = append(layout[i], fmt.Sprintf("127.0.0.1:%d", ports[next]))
			next++
		}
		layout[i] = append(layout[i], extra[i]...)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "cluster.xml")
	if err := os.WriteFile(config, ClusterConfigReplicas(name, layout), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var all []*chlocal.Server
	t.Cleanup(func() { closeAll(all) })
	out := make([][]*chlocal.Server, len(servers))
	next = 0
	for i, n := range servers {
		for j := range n {
			srv, err := chlocal.Start(ctx, chlocal.Config{Progress: os.Stderr, AutoRestart: true, ConfigFile: config,
				TCPPort: ports[next], HTTPPort: ports[total+next]})
			if err != nil {
				t.Fatalf("chtest: private cluster %s: shard %d replica %d: %v", name, i+1, j+1, err)
			}
			next++
			all = append(all, srv)
			out[i] = append(out[i], srv)
		}
	}
	return out
}

// closeCluster closes the shared cluster's servers and removes its config.
func closeCluster() {
	closeAll(clusterSrvs)
	if clusterDir != "" {
		_ = os.RemoveAll(clusterDir)
	}
}

func closeAll(srvs []*chlocal.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range srvs {
		if err := s.Close(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "chtest: %v\n", err)
		}
	}
}

// ClusterDatabase returns a database name unique to this test, for a
// database that the test creates on the shards (store.Migrate does), and
// drops it from every shard in t.Cleanup.
func ClusterDatabase(t testing.TB, srvs []*chlocal.Server) string {
	t.Helper()
	var r [4]byte
	_, _ = rand.Read(r[:])
	name := strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	name = "c_" + name + "_" + hex.EncodeToString(r[:])
	t.Cleanup(func() {
		for i, srv := range srvs {
			if err := exec(srv, "DROP DATABASE IF EXISTS `"+name+"` SYNC"); err != nil {
				t.Logf("chtest: drop database %s on shard %d: %v", name, i+1, err)
			}
		}
	})
	return name
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("chtest: free port: %w", err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
