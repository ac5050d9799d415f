package scan

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// distro is what /etc/os-release says about the image's distribution.
type distro struct {
	ID        string   // "debian", "ubuntu", "alpine", "rhel"
	IDLike    []string // "rhel centos fedora"
	VersionID string   // "12", "22.04", "3.20.1", "9.4"
	Version   string   // "22.04.4 LTS (Jammy Jellyfish)"
	Codename  string   // "bookworm"
	Name      string   // "Debian GNU/Linux"
	// DebianVersion is /etc/debian_version ("12.5", "trixie/sid").
	DebianVersion string
}

// parseOSRelease reads os-release's KEY=value lines (values optionally
// quoted, shell-style escapes).
func parseOSRelease(data []byte) distro {
	var d distro
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		value = unquote(strings.TrimSpace(value))
		switch strings.TrimSpace(key) {
		case "ID":
			d.ID = strings.ToLower(value)
		case "ID_LIKE":
			d.IDLike = strings.Fields(strings.ToLower(value))
		case "VERSION_ID":
			d.VersionID = value
		case "VERSION":
			d.Version = value
		case "VERSION_CODENAME":
			d.Codename = value
		case "NAME":
			d.Name = value
		}
	}
	return d
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		if v[0] == '"' {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
		}
		return v[1 : len(v)-1]
	}
	return v
}

// osName is Inventory.OS: "debian 12", "alpine 3.20.1".
func (d distro) osName() string {
	return strings.TrimSpace(d.ID + " " + d.VersionID)
}

// major is the release's first number ("9.4" -> "9").
func major(v string) string {
	m, _, _ := strings.Cut(v, ".")
	return m
}

// debianReleases maps codenames to release numbers, for testing and
// unstable images whose os-release has no VERSION_ID.
var debianReleases = map[string]string{
	"stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14", "duke": "15",
}

// dpkgEcosystem is the OSV ecosystem of a dpkg database's packages.
func (d distro) dpkgEcosystem() string {
	switch d.ID {
	case "ubuntu":
		// OSV's Ubuntu records name LTS releases "Ubuntu:22.04:LTS" and
		// others "Ubuntu:24.10".
		if d.VersionID == "" {
			return "Ubuntu"
		}
		if strings.Contains(d.Version, "LTS") {
			return "Ubuntu:" + d.VersionID + ":LTS"
		}
		return "Ubuntu:" + d.VersionID
	case "debian", "":
		if d.ID == "" && d.DebianVersion == "" {
			return "" // a dpkg database, but no idea whose
		}
		if r := debianRelease(d); r != "" {
			return "Debian:" + r
		}
		return "Debian"
	}
	return d.otherEcosystem()
}

func debianRelease(d distro) string {
	if d.VersionID != "" {
		return major(d.VersionID)
	}
	if v := strings.TrimSpace(d.DebianVersion); v != "" {
		if m := major(v); m != "" && isDigits(m) {
			return m
		}
		codename, _, _ := strings.Cut(v, "/")
		if r, ok := debianReleases[codename]; ok {
			return r
		}
	}
	return debianReleases[d.Codename]
}

// apkEcosystem is the OSV ecosystem of an apk database's packages.
func (d distro) apkEcosystem() string {
	switch d.ID {
	case "alpine", "":
		// "3.20.1" -> "Alpine:v3.20"; edge's "3.21_alpha20240807" -> v3.21.
		parts := strings.SplitN(d.VersionID, ".", 3)
		if len(parts) < 2 {
			return "Alpine"
		}
		minor := parts[1]
		if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			minor = minor[:i]
		}
		return "Alpine:v" + parts[0] + "." + minor
	case "wolfi":
		return "Wolfi"
	case "chainguard":
		return "Chainguard"
	case "minimos":
		return "MinimOS"
	case "alpaquita":
		return "Alpaquita:" + d.VersionID
	}
	return d.otherEcosystem()
}

// rpmEcosystem is the OSV ecosystem of an rpm database's packages.
func (d distro) rpmEcosystem() string {
	switch d.ID {
	case "rhel", "centos":
		// CentOS has no OSV ecosystem; it rebuilds RHEL's packages with
		// RHEL's versions, so RHEL's advisories apply (what Clair does).
		return withRelease("Red Hat", major(d.VersionID))
	case "rocky":
		return withRelease("Rocky Linux", major(d.VersionID))
	case "almalinux":
		return withRelease("AlmaLinux", major(d.VersionID))
	case "sles", "sles_sap", "sle-micro":
		// "15.5" -> "SUSE:Linux Enterprise Server 15 SP5". UNVERIFIED
		// beyond SLES: OSV's SUSE records name many products.
		m, sp, _ := strings.Cut(d.VersionID, ".")
		product := "Linux Enterprise Server " + m
		if sp != "" && sp != "0" {
			product += " SP" + sp
		}
		return "SUSE:" + product
	case "opensuse-leap":
		return withRelease("openSUSE", leapRelease(d.VersionID))
	case "opensuse-tumbleweed":
		return "openSUSE:Tumbleweed"
	case "photon":
		return withRelease("Photon OS", d.VersionID)
	case "azurelinux", "mariner":
		return withRelease("Azure Linux", d.VersionID)
	case "openeuler":
		// "24.03 (LTS-SP1)" -> "openEuler:24.03-LTS-SP1".
		release := d.VersionID
		if _, q, ok := strings.Cut(d.Version, "("); ok {
			if q = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(q), ")")); strings.HasPrefix(q, "LTS") {
				release += "-" + strings.ReplaceAll(q, " ", "-")
			}
		}
		return withRelease("openEuler", release)
	case "mageia":
		return withRelease("Mageia", d.VersionID)
	}
	return d.otherEcosystem()
}

func leapRelease(v string) string {
	if v == "" {
		return ""
	}
	return "Leap " + v
}

// otherEcosystem names a distribution OSV has no ecosystem for (Amazon
// Linux, Oracle Linux, Fedora, ...) after its os-release NAME and release,
// so records imported under that name match; none of osv.dev's will.
func (d distro) otherEcosystem() string {
	name := d.Name
	if name == "" {
		name = d.ID
	}
	return withRelease(name, d.VersionID)
}

func withRelease(ecosystem, release string) string {
	if release == "" || ecosystem == "" {
		return ecosystem
	}
	return ecosystem + ":" + release
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
