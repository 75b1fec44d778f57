package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/vigil-itm/vigil/event"
)

// Limits of the message parser, against hostile or broken input.
const (
	maxDepth       = 16
	maxParts       = 1000
	maxAddresses   = 1000
	maxHeaderBytes = 1 << 20
)

// ErrTooLarge is returned (wrapped) for a message above the size limit.
var ErrTooLarge = errors.New("message larger than the limit")

// Message is what the sensor learns from one sent message.
type Message struct {
	From        string
	To, CC, BCC []string
	Subject     string
	MessageID   string
	// Date is the Date header, the zero time when absent or unreadable.
	Date time.Time
	// Size is the size of the raw message in bytes.
	Size        int64
	Attachments []event.Attachment
}

// ParseMessage reads one RFC 5322 message of at most maxBytes bytes and
// returns its addresses, subject and attachments. Attachment sizes and
// SHA-256 digests are of the decoded content. Parts it cannot decode are
// skipped; only an unreadable header is an error.
func ParseMessage(raw []byte, maxBytes int64) (*Message, error) {
	if int64(len(raw)) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), maxBytes)
	}
	hdrEnd := headerEnd(raw)
	if hdrEnd > maxHeaderBytes {
		return nil, fmt.Errorf("parse message: header of %d bytes is larger than %d", hdrEnd, maxHeaderBytes)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse message header: %w", err)
	}
	m := &Message{Size: int64(len(raw))}
	h := msg.Header
	if from := addresses(h.Get("From")); len(from) > 0 {
		m.From = from[0]
	}
	m.To = addresses(h.Get("To"))
	m.CC = addresses(h.Get("Cc"))
	m.BCC = addresses(h.Get("Bcc"))
	m.Subject = decodeWords(h.Get("Subject"))
	m.MessageID = strings.TrimSpace(h.Get("Message-Id"))
	if d, err := h.Date(); err == nil {
		m.Date = d
	}
	w := walker{}
	w.walk(textproto.MIMEHeader(h), msg.Body, 0)
	m.Attachments = w.attachments
	return m, nil
}

// headerEnd returns the offset of the blank line that ends the header.
func headerEnd(raw []byte) int {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		if j := bytes.Index(raw, []byte("\n\n")); j >= 0 && j < i {
			return j
		}
		return i
	}
	if j := bytes.Index(raw, []byte("\n\n")); j >= 0 {
		return j
	}
	return len(raw)
}

var wordDecoder = &mime.WordDecoder{
	// Without a charset library, text in other charsets stays encoded
	// rather than failing the whole header.
	CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("charset %q not supported", charset)
	},
}

func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return strings.TrimSpace(d)
	}
	return strings.TrimSpace(s)
}

// addresses returns the lower-case addr-specs of an address list header.
// Lists that net/mail rejects are read leniently: whatever looks like an
// address is kept.
func addresses(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var out []string
	if list, err := (&mail.AddressParser{WordDecoder: wordDecoder}).ParseList(v); err == nil {
		for _, a := range list {
			if len(out) == maxAddresses {
				break
			}
			out = append(out, strings.ToLower(a.Address))
		}
		return out
	}
	for _, part := range strings.Split(v, ",") {
		if len(out) == maxAddresses {
			break
		}
		part = strings.TrimSpace(part)
		if i := strings.LastIndexByte(part, '<'); i >= 0 {
			part = strings.TrimSuffix(part[i+1:], ">")
		}
		if strings.Contains(part, "@") && !strings.ContainsAny(part, " \t\"<>") {
			out = append(out, strings.ToLower(part))
		}
	}
	return out
}

// walker collects the attachments of a MIME tree.
type walker struct {
	parts       int
	attachments []event.Attachment
}

func (w *walker) walk(h textproto.MIMEHeader, body io.Reader, depth int) {
	w.parts++
	if w.parts > maxParts || depth > maxDepth {
		return
	}
	ct := h.Get("Content-Type")
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mediaType, params = "text/plain", nil
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return
		}
		mr := multipart.NewReader(body, boundary)
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return // io.EOF, or a broken part: keep what was found
			}
			w.walk(p.Header, p, depth+1)
			_ = p.Close()
			if w.parts > maxParts {
				return
			}
		}
	}
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	name = decodeWords(name)
	isAttachment := disposition == "attachment" || name != ""
	if !isAttachment {
		return
	}
	if name == "" && mediaType == "message/rfc822" {
		name = "message.eml"
	}
	size, sum := digest(decodeBody(h.Get("Content-Transfer-Encoding"), body))
	w.attachments = append(w.attachments, event.Attachment{
		Name:     name,
		Size:     size,
		SHA256:   sum,
		MimeType: mediaType,
	})
}

func decodeBody(cte string, body io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: body})
	case "quoted-printable":
		return quotedprintable.NewReader(body)
	default:
		return body
	}
}

// base64Cleaner drops the bytes that are not part of the base64 alphabet
// (spaces, line breaks, stray characters), as mail readers do; decoding
// stops at the padding.
type base64Cleaner struct {
	r io.Reader
}

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		k := 0
		for _, b := range p[:n] {
			if b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=' {
				p[k] = b
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// digest returns the size and hex SHA-256 of what r yields. A decoding
// error ends the content where it happened.
func digest(r io.Reader) (int64, string) {
	h := sha256.New()
	n, _ := io.Copy(h, r)
	return n, hex.EncodeToString(h.Sum(nil))
}

// externalRecipients counts the distinct recipients whose domain is not one
// of orgDomains or below one of them.
func externalRecipients(orgDomains []string, lists ...[]string) int64 {
	seen := map[string]bool{}
	var n int64
	for _, list := range lists {
		for _, a := range list {
			if seen[a] {
				continue
			}
			seen[a] = true
			if !inDomains(domainOf(a), orgDomains) {
				n++
			}
		}
	}
	return n
}

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
}

func inDomains(d string, list []string) bool {
	if d == "" {
		return false
	}
	for _, o := range list {
		if d == o || strings.HasSuffix(d, "."+o) {
			return true
		}
	}
	return false
}
