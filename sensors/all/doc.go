// Package all links every sensor into the binary: each file of this package
// imports one sensor package for its registration. The agent imports it.
package all
