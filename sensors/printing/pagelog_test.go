package printing

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/sensors/internal/sensortest"
)

func TestParsePageLine(t *testing.T) {
	when := time.Date(2026, 11, 28, 8, 59, 32, 0, time.FixedZone("", 3600))
	tests := []struct {
		name    string
		line    string
		want    PageLine
		wantErr bool
	}{
		{
			name: "total line",
			line: "vigil1 P1 jdoe 12 [28/Nov/2026:08:59:32 +0100] total 15 15 3 localhost Quarterly report Q3",
			want: PageLine{Printer: "P1", User: "jdoe", JobID: 12, Time: when, Total: true, Sheets: 15,
				Impressions: 15, Copies: 3, Host: "localhost", Title: "Quarterly report Q3"},
		},
		{
			name: "page line with unknown attributes",
			line: "vigil1 P1 jdoe 12 [28/Nov/2026:08:59:32 +0100] 4 2 - - - -",
			want: PageLine{Printer: "P1", User: "jdoe", JobID: 12, Time: when, Page: 4, Sheets: 2,
				Impressions: -1, Copies: -1},
		},
		{
			name: "title with many spaces",
			line: "vigil1 P1 jdoe 12 [28/Nov/2026:08:59:32 +0100] total 1 1 1 10.0.0.5  a  b ",
			want: PageLine{Printer: "P1", User: "jdoe", JobID: 12, Time: when, Total: true, Sheets: 1,
				Impressions: 1, Copies: 1, Host: "10.0.0.5", Title: "a  b"},
		},
		{name: "cups standard format", line: "P1 jdoe 12 [28/Nov/2026:08:59:32 +0100] total 15 - localhost title - -", wantErr: true},
		{name: "empty", line: "", wantErr: true},
		{name: "bad job id", line: "vigil1 P1 jdoe x [28/Nov/2026:08:59:32 +0100] total 1 1 1 h t", wantErr: true},
		{name: "bad date", line: "vigil1 P1 jdoe 1 [28/Foo/2026:08:59:32 +0100] total 1 1 1 h t", wantErr: true},
		{name: "negative copies", line: "vigil1 P1 jdoe 1 [28/Nov/2026:08:59:32 +0100] total -1 1 1 h t", wantErr: true},
		{name: "short", line: "vigil1 P1 jdoe 1 [28/Nov/2026:08:59:32 +0100] total 1 1", wantErr: true},
		{name: "no host", line: "vigil1 P1 jdoe 1 [28/Nov/2026:08:59:32 +0100] total 1 1 1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePageLine(tt.line)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrOtherFormat)
				return
			}
			require.NoError(t, err)
			require.True(t, tt.want.Time.Equal(got.Time))
			got.Time = tt.want.Time
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzParsePageLine(f *testing.F) {
	f.Add("vigil1 P1 jdoe 12 [28/Nov/2026:08:59:32 +0100] total 15 15 3 localhost Quarterly report Q3")
	f.Add("vigil1 P1 jdoe 12 [28/Nov/2026:08:59:32 +0100] 4 2 - - - -")
	f.Add("P1 jdoe 12 [28/Nov/2026:08:59:32 +0100] total 15 - localhost title - -")
	f.Fuzz(func(t *testing.T, line string) {
		p, err := ParsePageLine(line)
		if err != nil {
			return
		}
		if p.JobID <= 0 || p.Sheets < 0 || p.Page < 0 || p.Impressions < -1 || p.Copies < -1 {
			t.Fatalf("accepted out-of-range values: %+v", p)
		}
	})
}

func BenchmarkParsePageLine(b *testing.B) {
	line := "vigil1 P1 jdoe 12 [28/Nov/2026:08:59:32 +0100] total 15 15 3 localhost Quarterly report Q3"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePageLine(line); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReadPageLogFormat(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, conf string
		want       Directive
	}{
		{"missing", "LogLevel warn\n", Directive{}},
		{"debian empty", "LogLevel warn\nPageLogFormat\n", Directive{Found: true, Line: 2}},
		{"quoted", "PageLogFormat \"" + PageLogFormat + "\"\n", Directive{Found: true, Value: PageLogFormat, Line: 1}},
		{"last wins", "PageLogFormat x\npagelogformat " + PageLogFormat + "\n", Directive{Found: true, Value: PageLogFormat, Line: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".conf")
			require.NoError(t, os.WriteFile(p, []byte(tt.conf), 0o600))
			got, err := ReadPageLogFormat(p)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := ReadPageLogFormat(filepath.Join(dir, "nope"))
	require.Error(t, err)
}

func TestDiagnose(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.CupsdConf = filepath.Join(dir, "cupsd.conf")
	cfg.PageLog = filepath.Join(dir, "page_log")
	find := func(ds []Diagnosis, subject string) Diagnosis {
		for _, d := range ds {
			if d.Subject == subject {
				return d
			}
		}
		t.Fatalf("no diagnosis %q in %+v", subject, ds)
		return Diagnosis{}
	}
	d := find(Diagnose(cfg), "CUPS")
	require.False(t, d.OK)

	require.NoError(t, os.WriteFile(cfg.CupsdConf, []byte("PageLogFormat\n"), 0o600))
	d = find(Diagnose(cfg), "PageLogFormat")
	require.False(t, d.OK)
	require.Contains(t, d.Detail, "empty")
	require.Contains(t, d.Fix, "PageLogFormat "+PageLogFormat)

	require.NoError(t, os.WriteFile(cfg.CupsdConf, []byte("PageLogFormat "+PageLogFormat+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cups-files.conf"), []byte("PageLog /elsewhere/page_log\n"), 0o600))
	ds := Diagnose(cfg)
	require.True(t, find(ds, "PageLogFormat").OK)
	require.False(t, find(ds, "PageLog path").OK)
	require.True(t, find(ds, "page_log").OK)
}

func TestConfig(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"unknown key", "pagelog: x", "field pagelog not found"},
		{"empty page log", `page_log: ""`, "page_log"},
		{"poll too fast", "poll_interval: 1ms", "poll_interval"},
		{"job timeout", "poll_interval: 1s\njob_timeout: 10ms", "job_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(sensortest.YAML(t, tt.yaml))
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	c, err := ParseConfig(sensortest.YAML(t, "page_log: /x/page_log\npoll_interval: 2s"))
	require.NoError(t, err)
	require.Equal(t, "/x/page_log", c.PageLog)
	require.Equal(t, 2*time.Second, c.PollInterval)
}
