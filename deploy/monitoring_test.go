package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

const (
	alertsPath    = "prometheus/puguh-alerts.yml"
	dashboardPath = "grafana/puguh-dashboard.json"
)

// targetLabels are attached by Prometheus to every scraped series: the
// rules and panels may select on them though /metrics has none.
var targetLabels = []string{"job", "instance"}

// prometheusMade are series Prometheus records itself for each target.
var prometheusMade = []string{"up"}

var promql = parser.NewParser(parser.Options{})

func TestAlertRulesParse(t *testing.T) {
	groups, errs := rulefmt.ParseFile(alertsPath, false, model.LegacyValidation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", alertsPath, errs)
	}
	if len(groups.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	seen := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				if r.Alert == "" {
					t.Fatalf("recording rule %q: this file holds alerts only", r.Record)
				}
				if seen[r.Alert] {
					t.Fatalf("alert %s twice", r.Alert)
				}
				seen[r.Alert] = true
				if sev := r.Labels["severity"]; !slices.Contains([]string{"critical", "warning", "info"}, sev) {
					t.Errorf("severity %q, want critical, warning or info", sev)
				}
				for _, a := range []string{"summary", "description"} {
					if strings.TrimSpace(r.Annotations[a]) == "" {
						t.Errorf("no %s annotation", a)
					}
				}
			})
		}
	}
}

// The dashboard as Grafana stores it; only what the test checks.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasource              `json:"datasource"`
	GridPos    struct{ X, Y, W, H int } `json:"gridPos"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return d
}

// grafanaVars are the dashboard's variables, as the values Grafana puts in
// a query: $__rate_interval is a range, $job and $instance regexps.
var grafanaVars = map[string]string{"__rate_interval": "5m", "job": ".+", "instance": ".+"}

var grafanaVar = regexp.MustCompile(`\$\{?(\w+)\}?`)

// expandGrafana replaces the dashboard's variables in a query.
func expandGrafana(t *testing.T, q string) string {
	t.Helper()
	return grafanaVar.ReplaceAllStringFunc(q, func(v string) string {
		name := grafanaVar.FindStringSubmatch(v)[1]
		val, ok := grafanaVars[name]
		if !ok {
			t.Errorf("query %q uses $%s, which the dashboard does not define", q, name)
		}
		return val
	})
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// dashboardQueries returns every PromQL query of the dashboard, named for
// messages, with the variables expanded.
func dashboardQueries(t *testing.T, d dashboard) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Fatalf("variable %s: %q is not label_values(selector, label)", v.Name, q.Query)
		}
		// label_values(sel, label) lists the values of label on sel's series.
		out["variable "+v.Name] = fmt.Sprintf("count by (%s) (%s)", m[2], expandGrafana(t, m[1]))
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out[fmt.Sprintf("panel %q %s", p.Title, tg.RefID)] = expandGrafana(t, tg.Expr)
		}
	}
	return out
}

func TestDashboardShape(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 {
		t.Fatalf("uid %q title %q schemaVersion %d", d.UID, d.Title, d.SchemaVersion)
	}
	if !slices.ContainsFunc(d.Templating.List, func(v struct {
		Name  string          `json:"name"`
		Type  string          `json:"type"`
		Query json.RawMessage `json:"query"`
	}) bool {
		return v.Name == "datasource" && v.Type == "datasource" && string(v.Query) == `"prometheus"`
	}) {
		t.Errorf("no Prometheus data source variable")
	}
	ids := map[int]bool{}
	type cell struct{ x, y int }
	used := map[cell]string{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := used[cell{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
				}
				used[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, ds := range append([]*datasource{p.Datasource}, func() (out []*datasource) {
			for _, tg := range p.Targets {
				out = append(out, tg.Datasource)
			}
			return out
		}()...) {
			if ds == nil || ds.Type != "prometheus" || ds.UID != "${datasource}" {
				t.Errorf("panel %q: data source %+v, want the ${datasource} variable", p.Title, ds)
			}
		}
	}
}

// liveMetrics is what a running Puguh exports: each series name (histograms
// as their _bucket, _sum and _count series) with its label names, and the
// values of the route label.
type liveMetrics struct {
	labels map[string][]string // series name → label names
	routes []string
}

// scrapeLivePuguh starts a real Puguh on SQLite and Redis (the rate
// limiter's metrics exist only with Redis), sends it requests that the
// rules and panels select by route, and reads its admin /metrics.
func scrapeLivePuguh(t *testing.T) liveMetrics {
	t.Helper()
	redisURL := testRedisURL(t)
	s := startPuguh(t, "puguh", map[string]string{
		"PUGUH_ADDR":                 "127.0.0.1:" + freePort(t, "127.0.0.1"),
		"PUGUH_ADMIN_ADDR":           "127.0.0.1:" + freePort(t, "127.0.0.1"),
		"PUGUH_REDIS_URL":            redisURL,
		"PUGUH_RATE_LIMIT_NAMESPACE": fmt.Sprintf("deploytest%d:", time.Now().UnixNano()),
	})
	client := &http.Client{Timeout: 10 * time.Second}
	if code, body := get(t, client, "http://"+s.addr+"/api/v1/health"); code != http.StatusOK {
		t.Fatalf("health: %d %s", code, body)
	}
	resp, err := client.Post("http://"+s.addr+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"email":"nobody@example.com","password":"not the password"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("failed login: %d %s", resp.StatusCode, b)
	}

	resp, err = client.Get("http://" + s.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tp := expfmt.NewTextParser(model.LegacyValidation)
	families, err := tp.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	live := liveMetrics{labels: map[string][]string{}}
	for name, f := range families {
		var names []string
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(names, l.GetName()) {
					names = append(names, l.GetName())
				}
				if l.GetName() == "route" && !slices.Contains(live.routes, l.GetValue()) {
					live.routes = append(live.routes, l.GetValue())
				}
			}
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			live.labels[name+"_bucket"] = append(slices.Clone(names), "le")
			live.labels[name+"_sum"] = names
			live.labels[name+"_count"] = names
		case dto.MetricType_SUMMARY:
			live.labels[name] = append(slices.Clone(names), "quantile")
			live.labels[name+"_sum"] = names
			live.labels[name+"_count"] = names
		default:
			live.labels[name] = names
		}
	}
	return live
}

// checkQuery fails the test unless every series q selects exists in live,
// with every label it matches on or groups by.
func checkQuery(t *testing.T, where, q string, live liveMetrics) {
	t.Helper()
	expr, err := promql.ParseExpr(q)
	if err != nil {
		t.Errorf("%s: %q: %v", where, q, err)
		return
	}
	var selected [][]string // label names of the series under each aggregation
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		if slices.Contains(prometheusMade, name) {
			return nil
		}
		have, ok := live.labels[name]
		if !ok {
			t.Errorf("%s: %s is not in a running Puguh's /metrics", where, name)
			return nil
		}
		selected = append(selected, have)
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName || slices.Contains(targetLabels, m.Name) {
				continue
			}
			if !slices.Contains(have, m.Name) {
				t.Errorf("%s: %s has no label %q", where, name, m.Name)
			}
			if m.Name == "route" && m.Type == labels.MatchEqual && !slices.Contains(live.routes, m.Value) {
				t.Errorf("%s: route %q is not a route template Puguh reports (it has %v)", where, m.Value, live.routes)
			}
		}
		return nil
	})
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		agg, ok := node.(*parser.AggregateExpr)
		if !ok || agg.Without {
			return nil
		}
		var inner []string
		parser.Inspect(agg.Expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				if slices.Contains(prometheusMade, vs.Name) {
					inner = append(inner, targetLabels...)
				}
				inner = append(inner, live.labels[vs.Name]...)
			}
			return nil
		})
		for _, l := range agg.Grouping {
			if !slices.Contains(inner, l) && !slices.Contains(targetLabels, l) {
				t.Errorf("%s: groups by %q, which the series it aggregates lack", where, l)
			}
		}
		return nil
	})
	if len(selected) == 0 && !strings.Contains(q, "up{") {
		t.Errorf("%s: %q selects no Puguh series", where, q)
	}
}

// Every metric and label the alert rules and the dashboard use is one a
// real Puguh exports: a renamed metric fails here, not silently in Grafana.
func TestMonitoringUsesLiveMetrics(t *testing.T) {
	live := scrapeLivePuguh(t)
	groups, errs := rulefmt.ParseFile(alertsPath, false, model.LegacyValidation, promql, slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", alertsPath, errs)
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			checkQuery(t, "alert "+r.Alert, r.Expr, live)
		}
	}
	for where, q := range dashboardQueries(t, readDashboard(t)) {
		checkQuery(t, "dashboard "+where, q, live)
	}
	// The metrics worth watching that neither uses would be a gap.
	var used strings.Builder
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			used.WriteString(r.Expr + "\n")
		}
	}
	for _, q := range dashboardQueries(t, readDashboard(t)) {
		used.WriteString(q + "\n")
	}
	for name := range live.labels {
		if strings.HasPrefix(name, "puguh_") && !strings.Contains(used.String(), name) &&
			!strings.HasSuffix(name, "_sum") && !strings.HasSuffix(name, "_count") {
			t.Errorf("Puguh exports %s, which no alert or panel uses", name)
		}
	}
}
