// Package x11 owns the X11 plumbing shared by the keyboard, clipboard and
// window sensors: display names and connection setup with
// MIT-MAGIC-COOKIE-1 authorisation, the RECORD data stream parser, the
// keyboard map and keysym-to-text conversion, window properties (title,
// class, pid, browser URL), the masking rules that hide secrets, and the Hub
// through which sensors watching the same display share the clipboard state.
//
// It turns X protocol bytes into plain Go values; it must not import the
// engine, the store, the API or any sensor package.
package x11
