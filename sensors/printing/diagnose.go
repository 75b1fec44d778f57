package printing

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/vigil-itm/vigil/sensors"
)

// Diagnosis is one finding of Diagnose: something the sensor needs, and
// whether this machine has it.
type Diagnosis = sensors.Diagnosis

// Diagnose checks the local machine for what the printing sensor needs:
// a cupsd.conf whose PageLogFormat is the one the sensor reads, and a
// page_log where the configuration says.
func Diagnose(cfg Config) []Diagnosis {
	var out []Diagnosis
	fix := fmt.Sprintf("put this line in %s (replacing any other PageLogFormat line), then restart cupsd "+
		"(systemctl restart cups):\n    PageLogFormat %s", cfg.CupsdConf, PageLogFormat)
	d, err := ReadPageLogFormat(cfg.CupsdConf)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		out = append(out, Diagnosis{Subject: "CUPS", Detail: cfg.CupsdConf + " does not exist: CUPS is not installed or lives elsewhere",
			Fix: "install CUPS (Debian: apt-get install cups) or set printing.cupsd_conf"})
	case err != nil:
		out = append(out, Diagnosis{Subject: "cupsd.conf", Detail: err.Error(), Fix: "run the check as root"})
	case !d.Found:
		out = append(out, Diagnosis{Subject: "PageLogFormat", Detail: cfg.CupsdConf + " has no PageLogFormat line; " +
			"cupsd then logs no pages (Debian ships it without one, or with an empty value)", Fix: fix})
	case d.Value == "":
		out = append(out, Diagnosis{Subject: "PageLogFormat", Detail: fmt.Sprintf("%s line %d sets PageLogFormat to the "+
			"empty string, which turns page logging off (Debian's default)", cfg.CupsdConf, d.Line), Fix: fix})
	case d.Value != PageLogFormat:
		out = append(out, Diagnosis{Subject: "PageLogFormat", Detail: fmt.Sprintf("%s line %d sets PageLogFormat to %q, "+
			"which the sensor cannot read", cfg.CupsdConf, d.Line, d.Value), Fix: fix})
	default:
		out = append(out, Diagnosis{Subject: "PageLogFormat", OK: true,
			Detail: fmt.Sprintf("%s line %d sets the expected format", cfg.CupsdConf, d.Line)})
	}
	if p := cupsFilesPageLog(cfg.CupsdConf); p != "" && p != cfg.PageLog {
		out = append(out, Diagnosis{Subject: "PageLog path", Detail: fmt.Sprintf("cups-files.conf writes the page log to %s, "+
			"but the sensor reads %s", p, cfg.PageLog), Fix: "set printing.page_log to " + p})
	}
	switch f, err := os.Open(cfg.PageLog); {
	case errors.Is(err, fs.ErrNotExist):
		out = append(out, Diagnosis{Subject: "page_log", OK: true,
			Detail: cfg.PageLog + " does not exist yet; cupsd creates it at the first job once PageLogFormat is set"})
	case err != nil:
		out = append(out, Diagnosis{Subject: "page_log", Detail: err.Error(),
			Fix: "run the agent as root or give it read access to " + cfg.PageLog})
	default:
		_ = f.Close()
		out = append(out, Diagnosis{Subject: "page_log", OK: true, Detail: cfg.PageLog + " is readable"})
	}
	return out
}

// cupsFilesPageLog returns the PageLog directive of the cups-files.conf
// next to cupsdConf, "" when there is none.
func cupsFilesPageLog(cupsdConf string) string {
	dir := cupsdConf[:strings.LastIndexByte(cupsdConf, '/')+1]
	f, err := os.Open(dir + "cups-files.conf")
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	p := ""
	for sc.Scan() {
		name, value, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if strings.EqualFold(name, "PageLog") {
			p = strings.Trim(strings.TrimSpace(value), `"`)
		}
	}
	return p
}
