package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-itm/vigil/internal/xvfb"
)

func readZip(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		out[f.Name] = b
	}
	return out
}

func TestExportWithFFmpeg(t *testing.T) {
	xvfb.NeedCommand(t, "ffmpeg", "ffmpeg")
	xvfb.NeedCommand(t, "ffprobe", "ffmpeg")
	f, dir := samplePackage(t)
	var buf bytes.Buffer
	res, err := Export(context.Background(), dir, &buf, ExportOptions{Verify: VerifyOptions{AgentKey: publicOf(f.key)}})
	require.NoError(t, err)
	require.True(t, res.Report.OK)
	require.Equal(t, "video.mp4", res.Video)
	files := readZip(t, buf.Bytes())

	// The original package is there byte for byte and still verifies.
	orig, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	require.NoError(t, err)
	require.Equal(t, orig, files["package/alert-1/manifest.json"])
	out := t.TempDir()
	for name, data := range files {
		if rel, ok := strings.CutPrefix(name, "package/alert-1/"); ok {
			p := filepath.Join(out, "alert-1", filepath.FromSlash(rel))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
			require.NoError(t, os.WriteFile(p, data, 0o600))
		}
	}
	rep, err := Verify(filepath.Join(out, "alert-1"), VerifyOptions{AgentKey: publicOf(f.key)})
	require.NoError(t, err)
	require.True(t, rep.OK, "failures: %v", rep.Failures)

	// The MP4 plays: ffprobe reads its codec and duration.
	video := filepath.Join(out, "video.mp4")
	require.NoError(t, os.WriteFile(video, files["video.mp4"], 0o600))
	probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
		"-show_entries", "format=duration", "-of", "default=noprint_wrappers=1", video).CombinedOutput()
	require.NoError(t, err, "%s", probe)
	require.Contains(t, string(probe), "codec_name=h264")
	require.Contains(t, string(probe), "width=64")
	var dur float64
	for _, l := range strings.Split(string(probe), "\n") {
		if v, ok := strings.CutPrefix(l, "duration="); ok {
			dur, err = strconv.ParseFloat(v, 64)
			require.NoError(t, err)
		}
	}
	// Six frames 200 ms apart; the last one shown for its own span.
	require.InDelta(t, 1.2, dur, 0.35)

	// The report names the alert, the verdict and the video's hash, and
	// SHA256SUMS covers every other entry.
	report := string(files["report.html"])
	require.Contains(t, report, "VERIFIED")
	require.Contains(t, report, "usb-mass-copy")
	require.Contains(t, report, res.VideoSHA256)
	sums := string(files["SHA256SUMS"])
	for _, e := range res.Entries {
		require.Contains(t, sums, e.SHA256+"  "+e.Path)
		require.Equal(t, sha256Hex(files[e.Path]), e.SHA256)
	}
}

func TestExportWithoutFFmpegAndRefusesTampered(t *testing.T) {
	_, src := samplePackage(t)
	dir := copyDir(t, src)
	var buf bytes.Buffer
	res, err := Export(context.Background(), dir, &buf, ExportOptions{FFmpeg: filepath.Join(t.TempDir(), "no-ffmpeg")})
	require.NoError(t, err)
	require.Empty(t, res.Video)
	require.Contains(t, res.VideoNote, "ffmpeg is not installed")
	files := readZip(t, buf.Bytes())
	require.NotContains(t, files, "video.mp4")
	require.Contains(t, string(files["report.html"]), "ffmpeg is not installed")
	require.Contains(t, files, "package/alert-1/frames/000001.jpg")

	// From a zip too.
	var z bytes.Buffer
	require.NoError(t, Zip(dir, &z))
	zp := filepath.Join(t.TempDir(), "p.zip")
	require.NoError(t, os.WriteFile(zp, z.Bytes(), 0o600))
	_, err = Export(context.Background(), zp, io.Discard, ExportOptions{FFmpeg: "-"})
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(filepath.Join(dir, KeystrokesFile), []byte("{}\n"), 0o600))
	_, err = Export(context.Background(), dir, io.Discard, ExportOptions{FFmpeg: "-"})
	require.ErrorIs(t, err, ErrNotVerified)
	require.Contains(t, err.Error(), "keystrokes.jsonl")
	buf.Reset()
	res, err = Export(context.Background(), dir, &buf, ExportOptions{FFmpeg: "-", Force: true})
	require.NoError(t, err)
	require.False(t, res.Report.OK)
	require.Contains(t, string(readZip(t, buf.Bytes())["report.html"]), "VERIFICATION FAILED")
}
