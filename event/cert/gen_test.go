package cert

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// genOptions shape a synthetic dataset in the later layout.
type genOptions struct {
	rows    map[kind]int // rows per file; files with none are not written
	content int          // bytes of the content column
	users   int
	seed    uint64
}

// genDataset writes a synthetic dataset into dir: every file sorted by
// date and spanning the same 30 days, as in the real dataset, with dates
// drawn at random so that the files interleave. It returns the total
// number of data rows. Nothing in it comes from the real dataset.
func genDataset(tb testing.TB, dir string, o genOptions) int {
	tb.Helper()
	rng := rand.New(rand.NewPCG(o.seed, 7))
	if o.users == 0 {
		o.users = 50
	}
	content := strings.Repeat("lorem ", o.content/6+1)[:o.content]
	start := time.Date(2010, 1, 4, 6, 0, 0, 0, time.UTC)
	const span = 30 * 24 * time.Hour
	headers := [numKinds]string{
		kindLogon:  "id,date,user,pc,activity",
		kindDevice: "id,date,user,pc,file_tree,activity",
		kindFile:   "id,date,user,pc,filename,activity,to_removable_media,from_removable_media,content",
		kindEmail:  "id,date,user,pc,to,cc,bcc,from,activity,size,attachments,content",
		kindHTTP:   "id,date,user,pc,url,activity,content",
	}
	total := 0
	for k := range numKinds {
		n := o.rows[k]
		if n == 0 {
			continue
		}
		f, err := os.Create(filepath.Join(dir, kinds[k].file))
		require.NoError(tb, err)
		w := bufio.NewWriterSize(f, 1<<16)
		fmt.Fprintln(w, headers[k])
		t := start
		step := max(2*int(span/time.Second)/n, 1) // mean gap: span/n
		for i := range n {
			t = t.Add(time.Duration(rng.IntN(step+1)) * time.Second)
			u := rng.IntN(o.users)
			fmt.Fprintf(w, "{GEN%d-%08d-X},%s,USR%04d,PC-%04d,", k, i, t.Format("01/02/2006 15:04:05"), u, u)
			switch k {
			case kindLogon:
				fmt.Fprintln(w, []string{"Logon", "Logoff"}[i%2])
			case kindDevice:
				fmt.Fprintf(w, "R:\\;R:\\d%d,%s\n", i%7, []string{"Connect", "Disconnect"}[i%2])
			case kindFile:
				acts := []string{"File Open", "File Write", "File Copy", "File Delete"}
				fmt.Fprintf(w, "C:\\work\\f%d.docx,%s,%v,%v,\"%s\"\n", i%1000, acts[i%4], i%3 == 0, i%5 == 0, content)
			case kindEmail:
				fmt.Fprintf(w, "a%d@dtaa.com;b%d@example.com,,,USR%04d@dtaa.com,Send,%d,C:\\x\\r%d.pdf(%d),\"%s\"\n",
					i%9, i%4, u, 1000+i, i, 100+i, content)
			case kindHTTP:
				acts := []string{"WWW Visit", "WWW Visit", "WWW Download", "WWW Upload"}
				fmt.Fprintf(w, "http://site%d.example.com/page/%d.html,%s,\"%s\"\n", i%300, i, acts[i%4], content)
			}
		}
		require.NoError(tb, w.Flush())
		require.NoError(tb, f.Close())
		total += n
	}
	return total
}
