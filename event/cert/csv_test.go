package cert

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// readAll reads every record with csvReader, fed one byte at a time when
// slow is set (so that every state meets a chunk boundary).
func readAll(t testing.TB, data string, countCol int, slow bool) (records [][]string, counted []int64, flags []string) {
	t.Helper()
	var src io.Reader = strings.NewReader(data)
	if slow {
		src = iotest.OneByteReader(src)
	}
	r := newCSVReader(src, nil)
	r.countCol = countCol
	for r.next() {
		rec := make([]string, r.nfields)
		for i := range rec {
			rec[i] = string(r.field(i))
		}
		records = append(records, rec)
		counted = append(counted, r.countLen)
		flag := ""
		if r.badQuote {
			flag = "bad quote"
		}
		if r.tooLong {
			flag = "too long"
		}
		flags = append(flags, flag)
	}
	require.NoError(t, r.err)
	return records, counted, flags
}

func TestCSVReader(t *testing.T) {
	tests := []struct {
		name, in string
		want     [][]string
		flags    []string
	}{
		{"plain", "a,b,c\nd,e,f\n", [][]string{{"a", "b", "c"}, {"d", "e", "f"}}, nil},
		{"no final newline", "a,b\nc,d", [][]string{{"a", "b"}, {"c", "d"}}, nil},
		{"empty fields", ",a,,\n", [][]string{{"", "a", "", ""}}, nil},
		{"blank lines skipped", "\n\na\n\r\n\nb\n\n", [][]string{{"a"}, {"b"}}, nil},
		{"crlf", "a,b\r\nc,d\r\n", [][]string{{"a", "b"}, {"c", "d"}}, nil},
		{"lone cr kept", "a\rb,c\n", [][]string{{"a\rb", "c"}}, nil},
		{"cr at the end of input dropped", "a,b\r", [][]string{{"a", "b"}}, nil},
		{"quoted comma and newline", "\"a,b\nc\",d\n", [][]string{{"a,b\nc", "d"}}, nil},
		{"quoted crlf becomes lf", "\"a\r\nb\"\r\n", [][]string{{"a\nb"}}, nil},
		{"escaped quote", "\"say \"\"hi\"\"\",x\n", [][]string{{"say \"hi\"", "x"}}, nil},
		{"empty quoted field is a record", "\"\"\n", [][]string{{""}}, nil},
		{"bare quote kept", "a\"b,c\n", [][]string{{"a\"b", "c"}}, nil},
		{"text after closing quote", "\"a\"b,c\n", [][]string{{"a\"b", "c"}}, nil},
		{"unterminated quote", "a,\"b\nc", [][]string{{"a", "b\nc"}}, []string{"bad quote"}},
		{"quote closed at eof", "a,\"b\"", [][]string{{"a", "b"}}, nil},
		{"many fields", strings.Repeat(",", maxFields) + "\nz\n", nil, nil},
	}
	for _, tt := range tests {
		for _, slow := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				got, _, flags := readAll(t, tt.in, -1, slow)
				if tt.name == "many fields" {
					require.Len(t, got, 2)
					require.Equal(t, []string{"too long", ""}, flags)
					require.Equal(t, []string{"z"}, got[1])
					return
				}
				require.Equal(t, tt.want, got)
				for i, f := range flags {
					want := ""
					if i < len(tt.flags) {
						want = tt.flags[i]
					}
					require.Equal(t, want, f, "record %d", i)
				}
			})
		}
	}
}

func TestCSVReaderCountsContent(t *testing.T) {
	big := strings.Repeat("x", 8<<20)
	in := "id,content,tail\n1,\"" + big + "\",end\n2,short,end\n3,\"a\"\"b\",end\n"
	r := newCSVReader(strings.NewReader(in), nil)
	r.countCol = 1
	var counts []int64
	var tails []string
	for r.next() {
		counts = append(counts, r.countLen)
		tails = append(tails, string(r.field(2)))
		require.Empty(t, r.field(1), "the counted column is not kept")
		require.Less(t, cap(r.buf), 1<<16, "the record buffer does not grow with the counted column")
	}
	require.NoError(t, r.err)
	require.Equal(t, []int64{7, int64(len(big)), 5, 3}, counts)
	require.Equal(t, []string{"tail", "end", "end", "end"}, tails)
}

func TestCSVReaderTooLong(t *testing.T) {
	in := "a," + strings.Repeat("y", maxRecordBytes+1) + "\nb,c\n"
	got, _, flags := readAll(t, in, -1, false)
	require.Equal(t, []string{"too long", ""}, flags)
	require.Equal(t, []string{"b", "c"}, got[1])
}

func TestCSVReaderReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := newCSVReader(io.MultiReader(strings.NewReader("a,b\nc,"), iotest.ErrReader(boom)), nil)
	require.True(t, r.next())
	require.False(t, r.next())
	require.ErrorIs(t, r.err, boom)
}

// FuzzCSVReader: wherever encoding/csv reads the input without error,
// csvReader reads the same records, whatever the chunk boundaries, and
// counting a column measures exactly what keeping it would hold.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"a,b\n", "\"a,b\"\n", "\"a\"\"b\"\r\n", "\n\n", "a\r\rb\r\n", "\"\r\n\"", "x,\"y\nz\",w",
		"id,date,user,pc,activity\n{1},01/02/2010 06:49:00,U,PC-1,Logon\n",
		// More fields than the reader keeps (found by fuzzing).
		"{1},01" + strings.Repeat(",", 3400) + "/02/2010 06:49:00,U,PC-1,Logon\n",
	} {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, col uint8) {
		got, _, flags := readAll(t, string(data), -1, false)
		slow, _, _ := readAll(t, string(data), -1, true)
		require.Equal(t, got, slow, "chunk boundaries change nothing")

		countCol := int(col % 4)
		kept, counted, _ := readAll(t, string(data), countCol, false)
		require.Len(t, kept, len(got))
		for i, rec := range got {
			if flags[i] == "" && countCol < len(rec) {
				require.Equal(t, int64(len(rec[countCol])), counted[i])
				require.Empty(t, kept[i][countCol])
			}
		}

		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		want, err := cr.ReadAll()
		if err != nil {
			return
		}
		require.Len(t, got, len(want))
		for i := range want {
			size := 0
			for _, f := range want[i] {
				size += len(f)
			}
			if len(want[i]) > maxFields || size > maxRecordBytes {
				// Over the bounds: the reader keeps what fits and flags it.
				require.NotEmpty(t, flags[i], "record %d is over the bounds", i)
				continue
			}
			require.Equal(t, want[i], got[i], "record %d", i)
			require.Empty(t, flags[i])
		}
	})
}
