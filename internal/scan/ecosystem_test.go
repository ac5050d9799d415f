package scan

import "testing"

func TestEcosystems(t *testing.T) {
	for _, tc := range []struct {
		osRelease, debianVersion string
		dpkg, apk, rpm           string
	}{
		{osRelease: "ID=debian\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"", dpkg: "Debian:12"},
		{osRelease: "ID=debian\nVERSION_CODENAME=trixie", debianVersion: "trixie/sid", dpkg: "Debian:13"},
		{osRelease: "ID=debian", debianVersion: "11.9", dpkg: "Debian:11"},
		{osRelease: "ID=debian", dpkg: "Debian"},
		{debianVersion: "10.13", dpkg: "Debian:10"},
		{dpkg: ""},
		{osRelease: "ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"", dpkg: "Ubuntu:22.04:LTS"},
		{osRelease: "ID=ubuntu\nVERSION_ID=\"24.10\"\nVERSION=\"24.10 (Oracular Oriole)\"", dpkg: "Ubuntu:24.10"},
		{osRelease: "ID=alpine\nVERSION_ID=3.20.1", apk: "Alpine:v3.20"},
		{osRelease: "ID=alpine\nVERSION_ID=3.21_alpha20240807", apk: "Alpine:v3.21"},
		{apk: "Alpine"},
		{osRelease: "ID=wolfi\nVERSION_ID=\"20230201\"", apk: "Wolfi"},
		{osRelease: "ID=\"rhel\"\nVERSION_ID=\"9.4\"", rpm: "Red Hat:9"},
		{osRelease: "ID=\"centos\"\nVERSION_ID=\"7\"", rpm: "Red Hat:7"},
		{osRelease: "ID=\"rocky\"\nVERSION_ID=\"9.3\"", rpm: "Rocky Linux:9"},
		{osRelease: "ID=\"almalinux\"\nVERSION_ID=\"8.9\"", rpm: "AlmaLinux:8"},
		{osRelease: "ID=\"sles\"\nVERSION_ID=\"15.5\"", rpm: "SUSE:Linux Enterprise Server 15 SP5"},
		{osRelease: "ID=\"sles\"\nVERSION_ID=\"15\"", rpm: "SUSE:Linux Enterprise Server 15"},
		{osRelease: "ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"", rpm: "openSUSE:Leap 15.5"},
		{osRelease: "ID=photon\nVERSION_ID=5.0", rpm: "Photon OS:5.0"},
		{osRelease: "ID=mariner\nVERSION_ID=\"2.0\"", rpm: "Azure Linux:2.0"},
		{osRelease: "ID=\"openEuler\"\nVERSION_ID=\"24.03\"\nVERSION=\"24.03 (LTS-SP1)\"", rpm: "openEuler:24.03-LTS-SP1"},
		{osRelease: "NAME=\"Amazon Linux\"\nID=\"amzn\"\nVERSION_ID=\"2023\"", rpm: "Amazon Linux:2023"},
	} {
		d := parseOSRelease([]byte(tc.osRelease))
		d.DebianVersion = tc.debianVersion
		for _, c := range []struct{ kind, got, want string }{
			{"dpkg", d.dpkgEcosystem(), tc.dpkg},
			{"apk", d.apkEcosystem(), tc.apk},
			{"rpm", d.rpmEcosystem(), tc.rpm},
		} {
			if c.want != "" || (c.kind == "dpkg" && tc.apk == "" && tc.rpm == "") {
				if c.got != c.want {
					t.Errorf("%q (debian_version %q): %s ecosystem %q, want %q", tc.osRelease, tc.debianVersion, c.kind, c.got, c.want)
				}
			}
		}
	}
}

func TestGoToolchainVersion(t *testing.T) {
	for in, want := range map[string]string{
		"go1.22.1":                 "v1.22.1",
		"go1.22":                   "v1.22.0",
		"go1.21rc2":                "v1.21.0-rc.2",
		"go1.9beta1":               "v1.9.0-beta.1",
		"go1.24.2 X:boringcrypto":  "v1.24.2",
		"devel go1.23-abc1234 Fri": "",
		"":                         "",
	} {
		got, ok := goToolchainVersion(in)
		if got != want || ok != (want != "") {
			t.Errorf("goToolchainVersion(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestParseSourceRPM(t *testing.T) {
	for in, want := range map[string][2]string{
		"openssl-3.0.7-27.el9.src.rpm":            {"openssl", "3.0.7-27.el9"},
		"gcc11-11.2.1+git610-1.3.9.src.rpm":       {"gcc11", "11.2.1+git610-1.3.9"},
		"python-setuptools-57.4.0-1.fc35.src.rpm": {"python-setuptools", "57.4.0-1.fc35"},
		"nonsense": {"", ""},
	} {
		name, version, ok := parseSourceRPM(in)
		if name != want[0] || version != want[1] || ok != (want[0] != "") {
			t.Errorf("parseSourceRPM(%q) = %q, %q, %v; want %q", in, name, version, ok, want)
		}
	}
}
