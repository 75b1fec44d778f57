// Package cloudsync owns the cloud-sync sensor: it watches, recursively, the
// folders that cloud storage clients (Dropbox, OneDrive, Google Drive,
// Nextcloud, ownCloud, MEGA, Box, iCloud, pCloud) synchronise, and turns
// every file written or moved into one of them into a
// file-copied-to-cloud-sync event with the file's path, size, SHA-256 (up to
// a size bound) and destination.cloud_provider. It owns the table of default
// sync folder locations per OS and the readers of the clients' own settings
// that name a moved folder.
//
// The package must not import the engine, the store, the API or other
// sensors.
package cloudsync
