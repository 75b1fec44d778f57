// Package removable owns the removable media sensor: it watches USB sticks,
// external drives, SD cards and other removable block devices being plugged
// in and out (kernel uevents), their filesystems being mounted and
// unmounted (/proc/self/mountinfo), and files being written onto them
// (fanotify when running as root, recursive fsnotify watches otherwise), and
// turns each into an event.Event: device-connected, device-disconnected,
// volume-mounted, volume-unmounted and file-copied-to-removable.
//
// Device identity comes from sysfs and the filesystem label from the
// filesystem's own superblock; neither blkid nor udev is needed.
//
// The package registers itself as the sensor "removable" with the sensors
// registry. It imports only event and sensors from Vigil and must not import
// the engine, the store, the API or the agent.
package removable
