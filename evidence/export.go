package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrNotVerified is returned (wrapped) by Export when the package fails
// verification and Force is not set.
var ErrNotVerified = errors.New("evidence package failed verification")

// ExportOptions configure a hand-over export.
type ExportOptions struct {
	// Verify are the keys the package is verified with before export.
	Verify VerifyOptions
	// FFmpeg is the ffmpeg binary; empty looks "ffmpeg" up on PATH, "-"
	// turns the video rendition off.
	FFmpeg string
	// Force exports a package that fails verification; the report says so.
	Force bool
	// TempDir is where working files go; empty uses the system default.
	TempDir string
	// Now is the export time written in the report; zero means now.
	Now time.Time
}

// ExportResult says what an export produced.
type ExportResult struct {
	// Report is the verification of the package.
	Report Report
	// Video is the name of the video rendition in the archive ("video.mp4"),
	// empty when none was made; VideoSHA256 its hash.
	Video       string
	VideoSHA256 string
	// VideoNote says why there is no video, when there is none.
	VideoNote string
	// Entries lists every entry of the archive with its hash.
	Entries []FileEntry
}

// Export writes a hand-over zip for legal or HR use to w: the original
// package byte for byte under package/<alert-id>/, report.html (the alert,
// the verification verdict and every hash), video.mp4 rendered from the
// frames when ffmpeg is installed (else the frames only, as the report
// says), and SHA256SUMS over every other entry. The package stays the
// evidence; the video is a rendition whose hash the report records.
func Export(ctx context.Context, pkgPath string, w io.Writer, opts ExportOptions) (ExportResult, error) {
	var res ExportResult
	tmp, err := os.MkdirTemp(opts.TempDir, "vigil-export-")
	if err != nil {
		return res, fmt.Errorf("export evidence package %s: %w", pkgPath, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	dir := pkgPath
	st, err := os.Stat(pkgPath)
	if err != nil {
		return res, fmt.Errorf("export evidence package: %w", err)
	}
	if !st.IsDir() {
		dir, err = Unzip(pkgPath, filepath.Join(tmp, "package"), opts.Verify.Limits)
		if err != nil {
			return res, fmt.Errorf("export evidence package: %w", err)
		}
	}
	rep, err := Verify(dir, opts.Verify)
	if err != nil {
		return res, fmt.Errorf("export evidence package: %w", err)
	}
	rep.Path = pkgPath
	res.Report = rep
	if !rep.OK && !opts.Force {
		return res, fmt.Errorf("export evidence package %s: %w: %s", pkgPath, ErrNotVerified, strings.Join(rep.Failures, "; "))
	}
	m := rep.Manifest
	alertID := "package"
	if m != nil {
		alertID = m.AlertID
	}

	var video []byte
	switch {
	case m == nil || m.Frames.Count == 0:
		res.VideoNote = "the package has no screen frames"
	case opts.FFmpeg == "-":
		res.VideoNote = "video rendition turned off: the frames are in the package"
	default:
		bin := opts.FFmpeg
		if bin == "" {
			bin = "ffmpeg"
		}
		if path, err := exec.LookPath(bin); err != nil {
			res.VideoNote = "ffmpeg is not installed: the frames are in the package (frames/*.jpg, timed by frames/frames.json)"
		} else {
			video, err = renderMP4(ctx, path, dir, tmp)
			if err != nil {
				return res, fmt.Errorf("export evidence package %s: %w", pkgPath, err)
			}
			s := sha256.Sum256(video)
			res.Video, res.VideoSHA256 = "video.mp4", hex.EncodeToString(s[:])
		}
	}

	files, err := listDir(dir)
	if err != nil {
		return res, fmt.Errorf("export evidence package %s: %w", pkgPath, err)
	}
	zw := zip.NewWriter(w)
	sums := &strings.Builder{}
	add := func(name string, r io.Reader) error {
		method := zip.Deflate
		if strings.HasSuffix(name, ".jpg") || strings.HasSuffix(name, ".png") || strings.HasSuffix(name, ".mp4") {
			method = zip.Store
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: exportTime(opts)})
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(fw, h), r)
		if err != nil {
			return err
		}
		sum := hex.EncodeToString(h.Sum(nil))
		res.Entries = append(res.Entries, FileEntry{Path: name, SHA256: sum, Size: n})
		fmt.Fprintf(sums, "%s  %s\n", sum, name)
		return nil
	}
	for _, name := range files {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return res, fmt.Errorf("export evidence package %s: %w", pkgPath, err)
		}
		err = add("package/"+alertID+"/"+name, f)
		_ = f.Close()
		if err != nil {
			return res, fmt.Errorf("export evidence package %s: %s: %w", pkgPath, name, err)
		}
	}
	if video != nil {
		if err := add(res.Video, bytes.NewReader(video)); err != nil {
			return res, fmt.Errorf("export evidence package %s: video: %w", pkgPath, err)
		}
	}
	html, err := renderReport(res, opts)
	if err != nil {
		return res, fmt.Errorf("export evidence package %s: %w", pkgPath, err)
	}
	if err := add("report.html", bytes.NewReader(html)); err != nil {
		return res, fmt.Errorf("export evidence package %s: report: %w", pkgPath, err)
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: "SHA256SUMS", Method: zip.Deflate, Modified: exportTime(opts)})
	if err == nil {
		_, err = io.WriteString(fw, sums.String())
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return res, fmt.Errorf("export evidence package %s: %w", pkgPath, err)
	}
	return res, nil
}

func exportTime(opts ExportOptions) time.Time {
	if opts.Now.IsZero() {
		return time.Now().UTC()
	}
	return opts.Now.UTC()
}

// renderMP4 turns the frames of the package in dir into an H.264 MP4 with
// each frame shown for as long as the screen stayed unchanged.
func renderMP4(ctx context.Context, ffmpeg, dir, tmp string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(FramesIndexFile)))
	if err != nil {
		return nil, fmt.Errorf("render video: %w", err)
	}
	entries, err := ParseFrameIndex(data)
	if err != nil {
		return nil, fmt.Errorf("render video: %w", err)
	}
	if len(entries) == 0 {
		return nil, errors.New("render video: no frames")
	}
	var list strings.Builder
	list.WriteString("ffconcat version 1.0\n")
	for i, e := range entries {
		if err := checkMemberPath(e.File); err != nil {
			return nil, fmt.Errorf("render video: frame %d: %w", i+1, err)
		}
		abs, err := filepath.Abs(filepath.Join(dir, filepath.FromSlash(e.File)))
		if err != nil {
			return nil, fmt.Errorf("render video: %w", err)
		}
		d := e.Until.Sub(e.T)
		if i+1 < len(entries) {
			d = entries[i+1].T.Sub(e.T)
		}
		d = max(d, 200*time.Millisecond)
		fmt.Fprintf(&list, "file '%s'\nduration %.3f\n", strings.ReplaceAll(abs, "'", `'\''`), d.Seconds())
	}
	last, _ := filepath.Abs(filepath.Join(dir, filepath.FromSlash(entries[len(entries)-1].File)))
	fmt.Fprintf(&list, "file '%s'\n", strings.ReplaceAll(last, "'", `'\''`))
	listPath := filepath.Join(tmp, "frames.ffconcat")
	if err := os.WriteFile(listPath, []byte(list.String()), 0o600); err != nil {
		return nil, fmt.Errorf("render video: %w", err)
	}
	out := filepath.Join(tmp, "video.mp4")
	base := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0", "-i", listPath,
		"-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p", "-r", "10", "-movflags", "+faststart"}
	var lastErr error
	for _, codec := range [][]string{{"-c:v", "libx264", "-preset", "veryfast", "-crf", "28"}, {"-c:v", "mpeg4", "-q:v", "5"}} {
		args := append(append(append([]string{}, base...), codec...), out)
		cmd := exec.CommandContext(ctx, ffmpeg, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			lastErr = fmt.Errorf("render video with %s %s: %w: %s", ffmpeg, codec[1], err, strings.TrimSpace(stderr.String()))
			continue
		}
		v, err := os.ReadFile(out)
		if err != nil {
			return nil, fmt.Errorf("render video: %w", err)
		}
		return v, nil
	}
	return nil, lastErr
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000 MST")
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence report {{.AlertID}}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}code{font-size:.9em;word-break:break-all}.ok{color:#060}.bad{color:#a00}</style>
</head><body>
<h1>Evidence report: alert {{.AlertID}}</h1>
<p>Exported {{ts .Exported}}. The evidence is the original package under <code>package/{{.AlertID}}/</code>, unchanged; everything else in this archive is derived from it.</p>
<h2>Verification</h2>
{{if .Report.OK}}<p class="ok"><strong>VERIFIED</strong>: every file hash, the frame hash chain and the agent signature are valid{{if .Report.Countersigned}}, and the server countersignature is valid{{end}}.</p>
{{else}}<p class="bad"><strong>VERIFICATION FAILED</strong></p><ul>{{range .Report.Failures}}<li class="bad">{{.}}</li>{{end}}</ul>{{end}}
{{if .Report.Warnings}}<ul>{{range .Report.Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
<table>
<tr><th>Signed by (agent key)</th><td><code>{{.Report.SignedBy}}</code>{{if not .Report.KeyPinned}} (checked with the key the package embeds){{end}}</td></tr>
<tr><th>Countersigned by (server key)</th><td>{{if .Report.Countersigned}}<code>{{.Report.CountersignedBy}}</code> at {{ts .Report.CountersignedAt}}{{else}}not countersigned{{end}}</td></tr>
<tr><th>Files checked</th><td>{{.Report.FilesChecked}}</td></tr><tr><th>Frames in the chain</th><td>{{.Report.FramesChecked}}</td></tr>
</table>
{{with .M}}
<h2>Alert</h2>
<table>
<tr><th>Alert id</th><td><code>{{.AlertID}}</code></td></tr>
<tr><th>Time of the alert</th><td>{{ts .AlertTime}}</td></tr>
<tr><th>Rules</th><td>{{range $i, $r := .RuleIDs}}{{if $i}}, {{end}}<code>{{$r}}</code>{{end}}</td></tr>
<tr><th>Severity</th><td>{{.Severity}}</td></tr>
<tr><th>Policy bundle</th><td><code>{{.Bundle.Name}}</code> revision <code>{{.Bundle.Revision}}</code></td></tr>
<tr><th>User</th><td>{{.User}}</td></tr><tr><th>Host</th><td>{{.Host}}</td></tr>
<tr><th>Time covered</th><td>{{ts .Window.Start}} to {{ts .Window.End}}</td></tr>
<tr><th>Package written</th><td>{{ts .CreatedAt}}</td></tr>
<tr><th>Partial</th><td>{{if .Partial}}yes: {{.PartialReason}}{{else}}no{{end}}</td></tr>
<tr><th>Frame chain head</th><td><code>{{.Frames.ChainHead}}</code> ({{.Frames.Count}} frames{{if .Frames.Blanked}}, {{.Frames.Blanked}} blanked for privacy{{end}})</td></tr>
</table>
{{if .Withheld}}<h3>Not captured</h3><ul>{{range .Withheld}}<li>{{.Kind}}: {{.Reason}}</li>{{end}}</ul>{{end}}
{{end}}
<h2>Screen recording</h2>
{{if .Video}}<p><code>{{.Video}}</code> is a rendition of the frames for viewing (sha256 <code>{{.VideoSHA256}}</code>). It is not the evidence: the frames and their chain are.</p>
{{else}}<p>No video rendition: {{.VideoNote}}.</p>{{end}}
<h2>Package files</h2>
<table><tr><th>File</th><th>Size</th><th>SHA-256</th></tr>
{{range .Files}}<tr><td><code>{{.Path}}</code></td><td>{{.Size}}</td><td><code>{{.SHA256}}</code></td></tr>
{{end}}</table>
<p>manifest.json SHA-256: <code>{{.ManifestSHA256}}</code></p>
<h2>How to verify independently</h2>
<p>With the <code>vigil</code> binary and the agent's public key: <code>vigil evidence verify --key agent.pub package/{{.AlertID}}</code>. The manifest lists every file with its SHA-256; <code>manifest.sig</code> is a raw Ed25519 signature of <code>manifest.json</code>, which OpenSSL also checks: <code>openssl pkeyutl -verify -pubin -inkey agent.pub -rawin -in manifest.json -sigfile manifest.sig</code>.</p>
</body></html>
`))

func renderReport(res ExportResult, opts ExportOptions) ([]byte, error) {
	data := struct {
		AlertID        string
		Exported       time.Time
		Report         Report
		M              *Manifest
		Video          string
		VideoSHA256    string
		VideoNote      string
		Files          []FileEntry
		ManifestSHA256 string
	}{Exported: exportTime(opts), Report: res.Report, M: res.Report.Manifest, Video: res.Video,
		VideoSHA256: res.VideoSHA256, VideoNote: res.VideoNote}
	if data.M != nil {
		data.AlertID = data.M.AlertID
		data.Files = append([]FileEntry(nil), data.M.Files...)
	}
	sort.Slice(data.Files, func(i, j int) bool { return data.Files[i].Path < data.Files[j].Path })
	for _, e := range res.Entries {
		if strings.HasSuffix(e.Path, "/"+ManifestFile) {
			data.ManifestSHA256 = e.SHA256
		}
	}
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return b.Bytes(), nil
}
