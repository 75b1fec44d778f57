package email

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrNotPostfix is returned by ParsePostfixLine for a line that is not a
// postfix queue record.
var ErrNotPostfix = errors.New("not a postfix queue log line")

// PostfixLine is one postfix log line about a queued message.
type PostfixLine struct {
	// Time is the syslog time stamp. Traditional stamps carry no year: the
	// year of now is assumed, or the year before when that would put the
	// line more than a day in the future.
	Time time.Time
	// Host is the syslog host name.
	Host string
	// Program is the postfix daemon, such as "postfix/smtp".
	Program string
	// QueueID identifies the message in the queue.
	QueueID string
	// Removed is true on the line saying the message left the queue.
	Removed bool
	// Fields are the key=value pairs of the line, such as from, to, size,
	// status, uid, message-id and client; angle brackets are removed.
	Fields map[string]string
}

// ParsePostfixLine parses one syslog line written by postfix. now supplies
// the year for traditional syslog time stamps.
func ParsePostfixLine(line string, now time.Time) (PostfixLine, error) {
	var p PostfixLine
	rest, ok := p.parseStamp(line, now)
	if !ok {
		return p, ErrNotPostfix
	}
	host, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return p, ErrNotPostfix
	}
	p.Host = host
	tag, rest, ok := strings.Cut(rest, ": ")
	if !ok {
		return p, ErrNotPostfix
	}
	if i := strings.IndexByte(tag, '['); i >= 0 {
		tag = tag[:i]
	}
	if !strings.HasPrefix(tag, "postfix") || !strings.Contains(tag, "/") {
		return p, ErrNotPostfix
	}
	p.Program = tag
	qid, rest, ok := strings.Cut(rest, ": ")
	if !ok || !isQueueID(qid) {
		return p, ErrNotPostfix
	}
	p.QueueID = qid
	if rest == "removed" {
		p.Removed = true
		return p, nil
	}
	p.Fields = parseFields(rest)
	if len(p.Fields) == 0 {
		return p, ErrNotPostfix
	}
	return p, nil
}

// parseStamp reads an RFC 3339 or a traditional ("Jan  2 15:04:05") time
// stamp and returns the rest of the line after it.
func (p *PostfixLine) parseStamp(line string, now time.Time) (string, bool) {
	if len(line) > 20 && line[4] == '-' && line[10] == 'T' {
		stamp, rest, ok := strings.Cut(line, " ")
		if !ok {
			return "", false
		}
		t, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			return "", false
		}
		p.Time = t
		return rest, true
	}
	const layout = "Jan _2 15:04:05"
	if len(line) <= len(layout)+1 || line[len(layout)] != ' ' {
		return "", false
	}
	t, err := time.ParseInLocation(layout, line[:len(layout)], now.Location())
	if err != nil {
		return "", false
	}
	t = t.AddDate(now.Year(), 0, 0)
	if t.Sub(now) > 24*time.Hour {
		t = t.AddDate(-1, 0, 0)
	}
	p.Time = t
	return line[len(layout)+1:], true
}

// isQueueID accepts short queue ids (upper-case hex) and long ones
// (letters and digits, with a 'z' between the time and the inode parts).
func isQueueID(s string) bool {
	if len(s) < 5 || len(s) > 32 {
		return false
	}
	hex := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9' || c >= 'A' && c <= 'F':
		case c >= 'G' && c <= 'Z' || c >= 'a' && c <= 'z':
			hex = false
		default:
			return false
		}
	}
	return hex || len(s) >= 12 && strings.IndexByte(s, 'z') > 0
}

// parseFields reads "k=v, k=<v>, k=v (comment)" pairs. A value in angle
// brackets may hold commas; the text after status=X is ignored.
func parseFields(s string) map[string]string {
	out := map[string]string{}
	for s != "" && len(out) < 32 {
		s = strings.TrimLeft(s, ", ")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		key := s[:eq]
		if strings.ContainsAny(key, " ,") {
			// "uid=1000 from=<jdoe>" puts pairs apart by spaces only.
			if i := strings.LastIndexAny(key, " ,"); i >= 0 {
				key = key[i+1:]
			}
		}
		s = s[eq+1:]
		var v string
		if strings.HasPrefix(s, "<") {
			end := strings.IndexByte(s, '>')
			if end < 0 {
				v, s = s[1:], ""
			} else {
				v, s = s[1:end], s[end+1:]
			}
		} else {
			end := strings.IndexAny(s, ", ")
			if end < 0 {
				v, s = s, ""
			} else {
				v, s = s[:end], s[end:]
			}
		}
		if key != "" {
			out[key] = v
		}
		if key == "status" {
			break
		}
		// Skip a parenthesised comment such as "(queue active)".
		s = strings.TrimLeft(s, " ")
		if strings.HasPrefix(s, "(") {
			if end := strings.IndexByte(s, ')'); end >= 0 {
				s = s[end+1:]
			} else {
				s = ""
			}
		}
	}
	return out
}

// postfixMessage gathers the lines of one queued message.
type postfixMessage struct {
	first     time.Time
	from      string
	uid       string
	messageID string
	size      int64
	local     bool
	relayed   bool
	sent      []string
}

// postfixJoiner joins the lines of each queued message and returns the
// message when postfix removes it from the queue.
type postfixJoiner struct {
	pending map[string]*postfixMessage
	// localOnly keeps only mail submitted on this machine: through
	// sendmail (pickup) or by a client on the loopback address.
	localOnly bool
}

// maxPending bounds the messages kept waiting for their "removed" line.
const maxPending = 10000

func newPostfixJoiner(localOnly bool) *postfixJoiner {
	return &postfixJoiner{pending: map[string]*postfixMessage{}, localOnly: localOnly}
}

// add feeds one line; it returns the finished message, if this line ended
// one that was delivered to at least one recipient.
func (j *postfixJoiner) add(p PostfixLine) *postfixMessage {
	m := j.pending[p.QueueID]
	if m == nil {
		if p.Removed {
			return nil
		}
		if len(j.pending) >= maxPending {
			j.expire(p.Time.Add(time.Hour)) // make room: drop everything older than now
		}
		m = &postfixMessage{first: p.Time}
		j.pending[p.QueueID] = m
	}
	if p.Removed {
		delete(j.pending, p.QueueID)
		if len(m.sent) == 0 || j.localOnly && (!m.local || m.relayed) {
			return nil
		}
		return m
	}
	f := p.Fields
	if v, ok := f["uid"]; ok && strings.HasSuffix(p.Program, "/pickup") {
		m.uid, m.local = v, true
	}
	if v, ok := f["client"]; ok {
		if isLoopbackClient(v) {
			m.local = true
		} else {
			m.relayed = true
		}
	}
	if v, ok := f["message-id"]; ok {
		m.messageID = "<" + v + ">"
	}
	if v, ok := f["from"]; ok && strings.HasSuffix(p.Program, "/qmgr") {
		m.from = strings.ToLower(v)
		if n, err := strconv.ParseInt(f["size"], 10, 64); err == nil && n >= 0 {
			m.size = n
		}
	}
	if to, ok := f["to"]; ok && f["status"] == "sent" && len(m.sent) < maxAddresses {
		to = strings.ToLower(to)
		for _, s := range m.sent {
			if s == to {
				return nil
			}
		}
		m.sent = append(m.sent, to)
	}
	return nil
}

// expire drops messages first seen before cutoff.
func (j *postfixJoiner) expire(cutoff time.Time) {
	for id, m := range j.pending {
		if m.first.Before(cutoff) {
			delete(j.pending, id)
		}
	}
}

// isLoopbackClient reads postfix's "name[addr]" client field.
func isLoopbackClient(v string) bool {
	i := strings.IndexByte(v, '[')
	if i < 0 {
		return false
	}
	addr := strings.TrimSuffix(v[i+1:], "]")
	if j := strings.IndexByte(addr, ']'); j >= 0 {
		addr = addr[:j]
	}
	return addr == "::1" || strings.HasPrefix(addr, "127.")
}
