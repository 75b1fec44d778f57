// Package process owns the process sensor: process-started and
// process-ended events from the kernel's process connector (netlink
// NETLINK_CONNECTOR, CN_IDX_PROC), with /proc scanning as the fallback when
// the connector cannot be used. Events carry the executable, the command
// line, the parent, the user and the SHA-256 of the binary, from a bounded
// cache keyed by device, inode, size and modification time.
//
// The package also owns the decoder of the connector's messages. It must not
// import the engine, the store, the API or other sensors.
package process
