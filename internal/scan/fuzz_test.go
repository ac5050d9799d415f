package scan

import "testing"

// FuzzPackageDatabases feeds arbitrary bytes to the parsers of what an
// image claims to be its package databases and os-release: a scan of a
// hostile image may fail, never panic.
func FuzzPackageDatabases(f *testing.F) {
	f.Add([]byte("Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u2\nSource: openssl (3.0.11-1~deb12u2)\n\n"))
	f.Add([]byte("P:musl\nV:1.2.4-r2\no:musl\n\nP:busybox\nV:1.36.1-r5\n"))
	f.Add([]byte("ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n"))
	f.Add([]byte("Package:\n\n\n:\nStatus\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := parseOSRelease(data)
		_, _, _, _, _ = d.osName(), d.dpkgEcosystem(), d.apkEcosystem(), d.rpmEcosystem(), d.otherEcosystem()
		_, _ = dpkgPackages(data, "var/lib/dpkg/status", "Debian:12", false)
		_, _ = dpkgPackages(data, "var/lib/dpkg/status.d/x", "Debian:12", true)
		_, _ = apkPackages(data, "lib/apk/db/installed", "Alpine:v3.20")
		_, _, _ = parseSourceRPM(string(data))
		_, _ = goToolchainVersion(string(data))
	})
}
