package console_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/xvfb"
	"github.com/vigil-itm/vigil/store"
)

// screenshotDir, when set, is where the end-to-end test writes the
// screenshots of the main pages (scripts/screenshots sets it to
// docs/images). Otherwise they go to a temporary directory and are only
// checked.
var screenshotDir = flag.String("screenshots", "", "write console-*.png screenshots of the main pages into this directory")

// Viewport of the console tab: a laptop screen.
const (
	viewW = 1440
	viewH = 900
)

// browser is one headless Chromium with a tab for the console, and the
// JavaScript errors, CSP violations and failed loads it reported.
type browser struct {
	t    *testing.T
	ctx  context.Context
	root context.Context
	mu   sync.Mutex
	errs []string
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	xvfb.NeedCommand(t, "chromium", "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(viewW, viewH),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx)
		cancel()
		cancelAlloc()
	})
	b.ctx, b.root = ctx, ctx
	// The first run starts the browser and its tab, which live as long as
	// the context of that run: it must not be a shorter-lived one.
	require.NoError(t, chromedp.Do(ctx))
	b.do(chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{})
		return chromedp.Void{}, err
	}), chromedp.EmulateViewport(viewW, viewH))
	return b
}

func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		b.errs = append(b.errs, "exception: "+msg)
	case *cdplog.EventEntryAdded:
		// 4xx answers the console expects (probing roles, routes the
		// server does not have) are logged by Chromium as network errors;
		// anything else at error level is a defect (CSP violations
		// included).
		if e.Entry.Level == cdplog.EntryLevelError && e.Entry.Source != cdplog.EntrySourceNetwork {
			b.errs = append(b.errs, fmt.Sprintf("%s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	}
}

func (b *browser) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// do runs actions with a time limit.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, actions...))
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(b.t, err, "evaluate %s", expr)
	return v
}

// wait polls a JavaScript predicate until it is true.
func (b *browser) wait(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 25*time.Second)
	defer cancel()
	// The page may be between two renders: a predicate that throws is
	// not true yet.
	guarded := fmt.Sprintf(`(() => { try { return !!(%s); } catch (e) { return false; } })()`, expr)
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](guarded, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		body := eval[string](b, `document.body.innerText.slice(0, 3000)`)
		b.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s\nbrowser errors: %v", what, expr, err, body, b.errors())
	}
}

// screenshot saves the viewport as docs-ready PNG and checks it.
func (b *browser) screenshot(dir, name string) {
	b.t.Helper()
	// Let fonts and images settle: the next animation frame after load.
	b.wait("page settled", `document.readyState === 'complete' && !document.querySelector('.loading:not(:empty)')`)
	eval[bool](b, `(document.getElementById('toasts').replaceChildren(), true)`)
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	data, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(b.t, err)
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(b.t, err, "screenshot %s is a PNG", name)
	require.Equal(b.t, viewW, img.Bounds().Dx(), "screenshot %s width", name)
	require.Equal(b.t, viewH, img.Bounds().Dy(), "screenshot %s height", name)
	require.NoError(b.t, os.WriteFile(filepath.Join(dir, "console-"+name+".png"), data, 0o644))
}

// signIn signs in with a token from the sign-in page.
func (b *browser) signIn(base, token, role string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base + "/"))
	b.wait("sign-in form", `!!document.querySelector('input[name=token]')`)
	b.do(chromedp.SendKeys(chromedp.CSS(`input[name=token]`), token), chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.wait("signed in as "+role, fmt.Sprintf(`(document.querySelector('[data-testid=role]')||{}).textContent === %q`, role))
}

func (b *browser) signOut() {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(`.whoami button`)))
	b.wait("sign-in form", `!!document.querySelector('input[name=token]')`)
}

// goTo changes the console's route.
func (b *browser) goTo(hash string) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(location.hash = %q, true)`, hash))
}

func TestConsoleEndToEnd(t *testing.T) {
	began := time.Now()
	step := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	s := newSite(t)
	now := time.Now().UTC()
	s.seedDirectory()
	s.seedAgents()
	s.seedBackground(now)
	t0 := now.Add(-40 * time.Minute).Truncate(time.Second)
	s.post(storyEvents(t0, "01JSTORY0000000000000"))
	var list struct {
		Alerts []store.Alert `json:"alerts"`
	}
	s.getJSON(store.RoleAnalyst, "/api/v1/alerts?user=jdoe&rule=usb-sensitive-file", &list)
	require.Len(t, list.Alerts, 1, "the story raises one usb-sensitive-file alert")
	s.story = list.Alerts[0]
	require.Equal(t, t0, s.story.Time.UTC())

	step("seeded")
	b := startBrowser(t)
	frames, times := renderFrames(t, b, s, t0)
	step("browser started, frames rendered")
	pkgID := s.uploadStoryPackage(t.TempDir(), frames, times)

	shots := *screenshotDir
	if shots == "" {
		shots = t.TempDir()
	} else {
		require.NoError(t, os.MkdirAll(shots, 0o755))
	}
	base := s.srv.URL

	// --- The analyst signs in and lands on the queue.
	b.do(chromedp.Navigate(base + "/"))
	b.wait("sign-in form", `!!document.querySelector('input[name=token]')`)
	require.True(t, strings.HasSuffix(eval[string](b, `location.pathname`), "/console/"), "/ redirects to the console")
	b.screenshot(shots, "signin")
	b.signIn(base, s.secrets[store.RoleAnalyst], "analyst")
	b.wait("queue with alerts", `document.querySelectorAll('table.queue tbody tr').length > 0`)
	b.wait("severity counts", `!!document.querySelector('[data-testid=count-high] .count-num')`)
	require.True(t, eval[bool](b, `[...document.querySelectorAll('table.queue tbody tr')].every(r => r.dataset.status === 'open')`), "the queue opens on open alerts")
	require.True(t, eval[bool](b, `(() => { const t = [...document.querySelectorAll('table.queue tbody tr time')].map(e => e.getAttribute('datetime')); return t.every((v, i) => i === 0 || t[i-1] >= v); })()`), "newest first")
	require.Equal(t, "", eval[string](b, `sessionStorage.getItem('vigil.token') === null ? 'missing' : ''`), "the token is kept in the session")
	b.screenshot(shots, "alerts")

	step("signed in")
	// --- Filter: high severity, user jdoe.
	eval[bool](b, `(() => { const s = document.querySelector('select[name=severity]'); s.value = 'high'; s.dispatchEvent(new Event('change')); return true; })()`)
	b.do(chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "jdoe"))
	b.wait("filtered queue", `(() => { const rows = [...document.querySelectorAll('table.queue tbody tr')];
		return location.hash.includes('severity=high') && location.hash.includes('user=jdoe') && rows.length > 0 &&
			rows.every(r => r.dataset.severity === 'high' && r.dataset.user === 'jdoe'); })()`)
	b.wait("story alert listed", fmt.Sprintf(`!!document.querySelector('tr[data-id=%q]')`, s.story.ID))

	// --- Open the alert: summary, explanation, user context, timeline.
	b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id=%q] a.row-link`, s.story.ID))))
	b.wait("alert page", `!!document.querySelector('[data-testid=alert-summary]')`)
	require.Equal(t, "jdoe copied 2026-10.xlsx to KINGSTON on ws-042.", eval[string](b, `document.querySelector('[data-testid=alert-summary]').textContent`))
	require.Contains(t, eval[string](b, `document.querySelector('.finding').textContent`), "usb-sensitive-file")
	require.Greater(t, eval[int](b, `document.querySelectorAll('[data-testid=reasons] li').length`), 0, "the decision policy's reasons are shown")
	b.wait("user context", `(document.querySelector('[data-testid=user-context]')||{}).textContent?.includes('Finance')`)
	require.Contains(t, eval[string](b, `document.querySelector('[data-testid=user-context]').textContent`), "Leaving date")
	b.wait("timeline", `(document.querySelector('[data-testid=timeline]')||{}).textContent?.includes('this alert')`)
	require.Contains(t, eval[string](b, `document.querySelector('[data-testid=timeline]').textContent`), "uploaded data to a web site", "the later upload is on the timeline")

	step("alert page")
	// --- Evidence: a reason first, then the player.
	b.wait("evidence list", `!!document.querySelector('[data-testid=open-evidence]')`)
	b.do(chromedp.Click(chromedp.CSS(`[data-testid=open-evidence]`)))
	b.wait("reason dialog", `!!document.querySelector('dialog[open] [data-testid=reason]')`)
	b.do(chromedp.SendKeys(chromedp.CSS(`dialog[open] [data-testid=reason]`), "case INC-2291: USB copy review with HR"),
		chromedp.Click(chromedp.CSS(`dialog[open] button[type=submit]`)))
	b.wait("verification verdict", `(document.querySelector('[data-testid=verify-verdict]')||{}).textContent?.includes('Verified')`)
	b.wait("frames loaded", `(document.querySelector('[data-testid=frame]')||{}).src?.startsWith('blob:') && !document.querySelector('.player .loading:not(:empty)')`)
	require.Contains(t, eval[string](b, `document.querySelector('[data-testid=verify]').textContent`), "files read match their recorded SHA-256")
	require.Equal(t, len(frames), eval[int](b, `document.querySelectorAll('.player').length && parseInt(document.querySelector('[data-testid=frame-no]').textContent.split(' of ')[1])`))

	// Play: the clock moves and the frames follow.
	b.do(chromedp.Click(chromedp.CSS(`[data-testid=play]`)))
	b.wait("playback advances", `Number(document.querySelector('[data-testid=clock]').dataset.ms) >= 2500 && Number(document.querySelector('[data-testid=frame]').dataset.index) >= 1`)
	b.do(chromedp.Click(chromedp.CSS(`[data-testid=play]`)))
	b.wait("paused", `document.querySelector('[data-testid=play]').getAttribute('aria-label') === 'Play'`)

	// Seek forward to t0+8s (the window starts at t0-40s): frame 25, the
	// keystrokes typed into the browser, the terminal after the copy.
	seek := func(ms int) {
		eval[bool](b, fmt.Sprintf(`(() => { const s = document.querySelector('[data-testid=seek]'); s.value = '%d'; s.dispatchEvent(new Event('input')); return true; })()`, ms))
		b.wait(fmt.Sprintf("clock at %d ms", ms), fmt.Sprintf(`document.querySelector('[data-testid=clock]').dataset.ms === '%d'`, ms))
	}
	seek(48000)
	require.Equal(t, 24, eval[int](b, `Number(document.querySelector('[data-testid=frame]').dataset.index)`))
	b.wait("frame 25 shown", `document.querySelector('[data-testid=frame-no]').textContent.startsWith('frame 25 of')`)
	require.Contains(t, eval[string](b, `document.querySelector('[data-testid=keystrokes] li.current').textContent`), "dropbox.com")
	require.Contains(t, eval[string](b, `document.querySelector('[data-testid=clipboard] li.current').textContent`), "paste")
	require.Contains(t, eval[string](b, `document.querySelector('[data-testid=terminal]').textContent`), "'/srv/hr/payroll/2026-10.xlsx' -> '/media/jdoe/KINGSTON/2026-10.xlsx'")
	eval[bool](b, `(document.querySelector('.player').scrollIntoView({block: 'start'}), true)`)
	b.screenshot(shots, "evidence")
	// Seek back to t0-30s: frame 6, the ls typed, no copy yet.
	seek(10000)
	require.Equal(t, 5, eval[int](b, `Number(document.querySelector('[data-testid=frame]').dataset.index)`))
	require.Contains(t, eval[string](b, `document.querySelector('[data-testid=keystrokes] li.current').textContent`), "ls /media/jdoe/KINGSTON")
	term := eval[string](b, `document.querySelector('[data-testid=terminal]').textContent`)
	require.Contains(t, term, "notes.txt")
	require.NotContains(t, term, "cp -v", "seeking back replays the terminal from its start")

	step("evidence played")
	// --- Acknowledge with a comment.
	eval[bool](b, `(window.scrollTo(0, 0), true)`)
	b.do(chromedp.SendKeys(chromedp.CSS(`form.triage textarea[name=comment]`), "USB copy of payroll confirmed; HR informed"),
		chromedp.Click(chromedp.CSS(`form.triage button[data-status=acknowledged]`)))
	b.wait("history shows the change", `(() => { const t = document.querySelector('[data-testid=history]').textContent;
		return t.includes('sam.analyst') && t.includes('acknowledged') && t.includes('HR informed'); })()`)
	var detail struct {
		Alert store.Alert `json:"alert"`
	}
	s.getJSON(store.RoleAnalyst, "/api/v1/alerts/"+s.story.ID, &detail)
	require.Equal(t, store.StatusAcknowledged, detail.Alert.Status)
	b.screenshot(shots, "alert")

	step("acknowledged")
	// --- The auditor sees the evidence view, with its reason, in the audit log.
	b.signOut()
	require.Equal(t, "missing", eval[string](b, `sessionStorage.getItem('vigil.token') === null ? 'missing' : 'kept'`), "signing out forgets the token")
	b.signIn(base, s.secrets[store.RoleAuditor], "auditor")
	b.wait("audit log", `!!document.querySelector('[data-testid=audit] tbody tr')`)
	b.wait("evidence.view entry", fmt.Sprintf(`[...document.querySelectorAll('[data-testid=audit] tbody tr[data-action="evidence.view"]')].some(r =>
		r.textContent.includes('sam.analyst') && r.textContent.includes('case INC-2291') && r.textContent.includes(%q))`, pkgID))
	require.Equal(t, 1, eval[int](b, `document.querySelectorAll('[data-testid=audit] tbody tr[data-action="evidence.view"]').length`),
		"playing a package frame by frame is one viewing in the audit log")
	require.True(t, eval[bool](b, `[...document.querySelectorAll('[data-testid=audit] tbody tr[data-action="evidence.verify"]')].some(r => r.textContent.includes('case INC-2291'))`),
		"the verification asked by the player is audited with the same reason")
	require.False(t, eval[bool](b, `[...document.querySelectorAll('.sidebar a')].some(a => a.textContent === 'Administration')`), "auditors do not see administration")
	b.screenshot(shots, "audit")
	b.goTo("#/alerts")
	b.wait("read-only queue", `document.querySelectorAll('table.queue tbody tr').length > 0`)
	require.False(t, eval[bool](b, `!!document.querySelector('[data-testid=bulk-ack]')`), "auditors cannot triage")
	b.signOut()

	step("audit")
	// --- The admin: overview, live updates and bulk acknowledge, people,
	// policies, agents, administration.
	b.signIn(base, s.secrets[store.RoleAdmin], "admin")
	b.wait("overview", `!!document.querySelector('[data-testid=open-high]') && !!document.querySelector('svg.chart.time')`)
	b.screenshot(shots, "overview")

	b.goTo("#/alerts")
	b.wait("queue", `document.querySelectorAll('table.queue tbody tr').length > 1`)
	before := eval[int](b, `document.querySelectorAll('table.queue tbody tr').length`)
	s.post([]map[string]any{{
		"@timestamp": now.Add(-time.Minute).Format(time.RFC3339), "event": map[string]any{"id": "01JLIVE00000000000000000001", "action": "file-copied-to-removable"},
		"user": map[string]any{"name": "rwhite"}, "host": map[string]any{"name": "ws-077"},
		"file":   map[string]any{"path": "/media/rwhite/USB/2026-11.xlsx", "source_path": "/srv/hr/payroll/2026-11.xlsx"},
		"volume": map[string]any{"removable": true, "bus_type": "usb"},
	}})
	b.wait("the new alert appears without reload", `!!document.querySelector('table.queue tbody tr[data-user=rwhite]')`)
	require.Greater(t, eval[int](b, `document.querySelectorAll('table.queue tbody tr').length`), before)

	ids := eval[[]string](b, `[...document.querySelectorAll('table.queue tbody tr[data-status=open]')].slice(0, 2).map(r => r.dataset.id)`)
	require.Len(t, ids, 2)
	for _, id := range ids {
		b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id=%q] input[type=checkbox]`, id))))
	}
	b.wait("bulk button enabled", `!document.querySelector('[data-testid=bulk-ack]').disabled`)
	b.do(chromedp.Click(chromedp.CSS(`[data-testid=bulk-ack]`)))
	for _, id := range ids {
		b.wait("acknowledged rows leave the open queue", fmt.Sprintf(`!document.querySelector('tr[data-id=%q]')`, id))
		s.getJSON(store.RoleAdmin, "/api/v1/alerts/"+id, &detail)
		require.Equal(t, store.StatusAcknowledged, detail.Alert.Status)
	}

	step("live update and bulk")
	b.goTo("#/people")
	b.wait("people ranked", `document.querySelectorAll('table.people tbody tr').length > 3 && !!document.querySelector('table.people svg.sparkline')`)
	require.True(t, eval[bool](b, `!!document.querySelector('table.people tbody tr[data-user=jdoe] svg.sparkline')`), "jdoe is ranked, with a sparkline")
	b.screenshot(shots, "people")

	b.goTo("#/people/jdoe")
	b.wait("person page", `(document.querySelector('[data-testid=devices]')||{}).textContent?.includes('Kingston DataTraveler')`)
	require.Contains(t, eval[string](b, `document.querySelector('h1').textContent`), "Jane Doe")
	b.screenshot(shots, "person")

	b.goTo("#/policies")
	b.wait("rules of the active bundle", `document.querySelectorAll('[data-testid=rules] tbody tr').length >= 40`)
	require.Contains(t, eval[string](b, `document.querySelector('[data-testid=active-bundle]').textContent`), "vigil-library")
	require.Contains(t, eval[string](b, `document.querySelector('#rule-usb-sensitive-file').textContent`), "high")
	b.screenshot(shots, "policies")

	b.goTo("#/agents")
	b.wait("agents page", `document.querySelectorAll('table[aria-label=Agents] tbody tr').length === 3`)
	require.Equal(t, "degraded", eval[string](b, `[...document.querySelectorAll('table[aria-label=Agents] tbody tr')].find(r => r.textContent.includes('ws-077')).dataset.state`))
	require.Contains(t, eval[string](b, `document.querySelector('table[aria-label=Agents]').textContent`), "cannot open display :0")
	b.screenshot(shots, "agents")

	step("people, policies, agents")
	b.goTo("#/admin")
	b.wait("tokens", `document.querySelectorAll('[data-testid=tokens] tbody tr').length >= 4`)
	b.do(chromedp.SendKeys(chromedp.CSS(`form[aria-label="Create a token"] input[name=name]`), "hr-liaison"),
		chromedp.SendKeys(chromedp.CSS(`form[aria-label="Create a token"] input[name=reason]`), "HR case reviews"),
		chromedp.Click(chromedp.CSS(`form[aria-label="Create a token"] button[type=submit]`)))
	b.wait("secret shown once", `(document.querySelector('[data-testid=new-secret]')||{}).value?.startsWith('vigil_')`)
	b.wait("token listed", `document.querySelector('[data-testid=tokens]').textContent.includes('hr-liaison')`)
	b.screenshot(shots, "admin")

	require.Empty(t, b.errors(), "the console ran without script errors or CSP violations")
}

// renderFrames draws the story's screen as 31 JPEG frames, one every two
// seconds from t0-40s, by rendering a small desktop page in a second tab.
func renderFrames(t *testing.T, b *browser, s *site, t0 time.Time) ([][]byte, []time.Time) {
	t.Helper()
	s.desktop = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(desktopHTML))
	}
	ctx, cancel := chromedp.NewContext(b.root)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx))
	tab := &browser{t: t, ctx: ctx, root: b.root}
	tab.do(chromedp.EmulateViewport(960, 540), chromedp.Navigate(s.srv.URL+"/fixture/desktop"))
	tab.wait("desktop page", `typeof setFrame === 'function'`)
	var frames [][]byte
	var times []time.Time
	for i := range 31 {
		at := t0.Add(time.Duration(2*i-40) * time.Second)
		eval[bool](tab, fmt.Sprintf(`setFrame(%d, %q)`, i, at.Local().Format("15:04:05")))
		rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
		jpg, err := chromedp.Run(rctx, chromedp.FullScreenshot(72))
		rcancel()
		require.NoError(t, err)
		frames = append(frames, jpg)
		times = append(times, at)
	}
	return frames, times
}

// desktopHTML is a small desktop: a file manager, a terminal, a copy
// dialog and later a browser, changing with setFrame(i).
const desktopHTML = `<!doctype html><html><head><style>
body{margin:0;width:960px;height:540px;font:13px "DejaVu Sans",sans-serif;background:linear-gradient(135deg,#2f4858,#33658a);overflow:hidden;position:relative}
.bar{height:24px;background:#111;color:#ddd;display:flex;justify-content:space-between;padding:0 10px;align-items:center;font-size:12px}
.win{position:absolute;background:#fafafa;border-radius:6px;box-shadow:0 6px 20px rgba(0,0,0,.4);overflow:hidden}
.title{background:#e4e4e4;padding:5px 10px;font-weight:bold;font-size:12px}
.files{left:30px;top:50px;width:430px;height:300px}.files li{padding:4px 8px;list-style:none}.files ul{margin:0;padding:6px}
.sel{background:#3584e4;color:#fff}
.term{left:420px;top:170px;width:500px;height:300px;background:#1e1e1e;color:#ddd}.term pre{margin:8px;font:12px "DejaVu Sans Mono",monospace;white-space:pre-wrap}
.term .title{background:#333;color:#eee}
.copy{left:250px;top:200px;width:380px;height:110px;display:none}.copy .body{padding:12px}
.prog{height:10px;background:#ddd;border-radius:5px;margin-top:10px}.prog div{height:10px;background:#3584e4;border-radius:5px}
.note{position:absolute;right:20px;top:34px;background:#222;color:#fff;padding:10px 14px;border-radius:6px;display:none}
.browser{left:80px;top:60px;width:800px;height:440px;display:none}.url{margin:6px;padding:5px 10px;border:1px solid #bbb;border-radius:14px;background:#fff}
.page{padding:40px;text-align:center;font-size:22px;color:#0061fe}
</style></head><body>
<div class="bar"><span>Activities</span><span id="clock"></span><span>jdoe</span></div>
<div class="win files"><div class="title">payroll — /srv/hr/payroll</div><ul>
<li>2026-08.xlsx</li><li>2026-09.xlsx</li><li id="f10">2026-10.xlsx</li><li>bonus-plan-2027.docx</li><li>salaries-all-staff.csv</li></ul></div>
<div class="win term"><div class="title">jdoe@ws-042: ~</div><pre id="term"></pre></div>
<div class="win copy" id="copy"><div class="title">Copying files</div><div class="body">Copying “2026-10.xlsx” to KINGSTON<div class="prog"><div id="bar"></div></div></div></div>
<div class="note" id="note">KINGSTON — 1 file copied</div>
<div class="win browser" id="browser"><div class="title">Dropbox — Chromium</div><div class="url" id="url">dropbox.com</div><div class="page">Dropbox<br><small style="color:#555">Sign in to upload files</small></div></div>
<script>
function setFrame(i, clock) {
  document.getElementById('clock').textContent = clock;
  const t = document.getElementById('term');
  let txt = 'jdoe@ws-042:~$ ls /media/jdoe/KINGSTON\nPhotos  music  notes.txt\njdoe@ws-042:~$ ';
  if (i >= 9) txt += 'cp -v /srv/hr/payroll/2026-10.xlsx /media/jdoe/KINGSTON/\n';
  if (i >= 20) txt += "'/srv/hr/payroll/2026-10.xlsx' -> '/media/jdoe/KINGSTON/2026-10.xlsx'\njdoe@ws-042:~$ ";
  t.textContent = txt;
  document.getElementById('f10').className = i >= 10 ? 'sel' : '';
  const copying = i >= 13 && i < 20;
  document.getElementById('copy').style.display = copying ? 'block' : 'none';
  document.getElementById('bar').style.width = Math.min(100, (i - 12) * 15) + '%';
  document.getElementById('note').style.display = i >= 20 && i < 25 ? 'block' : 'none';
  document.getElementById('browser').style.display = i >= 24 ? 'block' : 'none';
  return true;
}
</script></body></html>`
