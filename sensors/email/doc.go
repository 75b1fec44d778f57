// Package email owns the email sensor: it watches the Sent folders of local
// mail clients (Thunderbird and Evolution, in mbox or Maildir form) and the
// log of a local postfix, and turns every message that leaves into one
// email-sent event with the sender, recipients, subject, attachments (name,
// size, SHA-256) and the number of recipients outside the organisation's
// domains. It owns the mbox splitter, the MIME message parser and the
// postfix log line parser.
//
// The package must not import the engine, the store, the API or other
// sensors.
package email
