package scan

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	rpmdb "github.com/erikvarga/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver go-rpmdb reads rpmdb.sqlite with

	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/vulndb"
)

// inventory reads the kept files of the image's final filesystem.
func (w *walker) inventory(ctx context.Context) (ecrstate.Inventory, error) {
	var d distro
	for _, p := range osReleasePaths {
		if k, ok := w.files[p]; ok {
			d = parseOSRelease(k.data)
			break
		}
	}
	if k, ok := w.files[debianVersionPath]; ok {
		d.DebianVersion = strings.TrimSpace(string(k.data))
	}

	var inv ecrstate.Inventory
	inv.OS = d.osName()
	databases := 0
	names := slices.Sorted(func(yield func(string) bool) {
		for p := range w.files {
			if !yield(p) {
				return
			}
		}
	})
	var rpmDB string
	for _, p := range names {
		k := w.files[p]
		switch k.kind {
		case kindDpkgStatus, kindDpkgStatusD:
			databases++
			pkgs, err := dpkgPackages(k.data, "/"+p, d.dpkgEcosystem(), k.kind == kindDpkgStatusD)
			if err != nil {
				return ecrstate.Inventory{}, fmt.Errorf("scan: dpkg database /%s: %w", p, err)
			}
			inv.Packages = append(inv.Packages, pkgs...)
		case kindApkInstalled:
			databases++
			pkgs, err := apkPackages(k.data, "/"+p, d.apkEcosystem())
			if err != nil {
				return ecrstate.Inventory{}, fmt.Errorf("scan: apk database /%s: %w", p, err)
			}
			inv.Packages = append(inv.Packages, pkgs...)
		case kindRpmDB:
			if rpmDB == "" || rpmPreference(p) < rpmPreference(rpmDB) {
				rpmDB = p
			}
		case kindGoBinary:
			inv.Packages = append(inv.Packages, k.pkgs...)
		}
	}
	if rpmDB != "" {
		databases++
		pkgs, err := rpmPackages(ctx, w.files[rpmDB].file, "/"+rpmDB, d.rpmEcosystem())
		if err != nil {
			return ecrstate.Inventory{}, fmt.Errorf("scan: rpm database /%s: %w", rpmDB, err)
		}
		inv.Packages = append(inv.Packages, pkgs...)
	}
	if databases == 0 && len(inv.Packages) == 0 {
		return ecrstate.Inventory{}, ErrUnsupportedImage
	}
	slices.SortFunc(inv.Packages, comparePackages)
	if inv.Packages == nil {
		inv.Packages = []vulndb.Package{}
	}
	return inv, nil
}

func comparePackages(a, b vulndb.Package) int {
	for _, c := range [][2]string{{a.Location, b.Location}, {a.Ecosystem, b.Ecosystem}, {a.Name, b.Name}, {a.Version, b.Version}} {
		if n := strings.Compare(c[0], c[1]); n != 0 {
			return n
		}
	}
	return 0
}

// rpmPreference orders rpm databases: the newer location, then the newer
// format (an image converted to sqlite may keep its old Packages file;
// only rpmdb.sqlite-wal is never a database).
func rpmPreference(p string) int {
	dir, base := path.Split(p)
	i := slices.Index(rpmDatabaseFiles, base)
	if i < 0 {
		return 1 << 20
	}
	return slices.Index(rpmDirs, strings.TrimSuffix(dir, "/"))*len(rpmDatabaseFiles) + i
}

// stanzas splits a dpkg or apk database into its paragraphs of fields.
// Continuation lines (dpkg's multi-line fields) are dropped: no field the
// scanner reads spans lines.
func stanzas(data []byte, sep string, fn func(fields map[string]string)) error {
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	flush := func() {
		if len(fields) > 0 {
			fn(fields)
			fields = map[string]string{}
		}
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
		default:
			if k, v, ok := strings.Cut(line, sep); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
	}
	flush()
	return sc.Err() // a line longer than 16 MiB: no real database has one
}

// dpkgPackages lists the installed packages of a dpkg status file. The
// status.d files distroless images carry describe installed packages and
// usually have no Status field.
func dpkgPackages(data []byte, location, ecosystem string, statusD bool) ([]vulndb.Package, error) {
	var pkgs []vulndb.Package
	err := stanzas(data, ":", func(f map[string]string) {
		name, version := f["Package"], f["Version"]
		if name == "" || version == "" {
			return
		}
		if status, ok := f["Status"]; ok || !statusD {
			// "want flag state": only the "installed" state is installed
			// ("install ok installed", "hold ok installed").
			fields := strings.Fields(status)
			if len(fields) != 3 || fields[2] != "installed" {
				return
			}
		}
		p := vulndb.Package{Ecosystem: ecosystem, Name: name, Version: version, Location: location}
		if src := f["Source"]; src != "" {
			// "openssl" or "openssl (3.0.11-1~deb12u2)" when versions differ.
			srcName, srcVersion, _ := strings.Cut(src, " ")
			srcVersion = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(srcVersion), "("), ")")
			if srcName != name || (srcVersion != "" && srcVersion != version) {
				p.SourceName = srcName
				p.SourceVersion = srcVersion
				if p.SourceVersion == "" {
					p.SourceVersion = version
				}
			}
		}
		pkgs = append(pkgs, p)
	})
	return pkgs, err
}

// apkPackages lists apk's installed database: P name, V version, o origin
// (the aport, which Alpine's advisories name).
func apkPackages(data []byte, location, ecosystem string) ([]vulndb.Package, error) {
	var pkgs []vulndb.Package
	err := stanzas(data, ":", func(f map[string]string) {
		name, version := f["P"], f["V"]
		if name == "" || version == "" {
			return
		}
		p := vulndb.Package{Ecosystem: ecosystem, Name: name, Version: version, Location: location}
		if origin := f["o"]; origin != "" && origin != name {
			p.SourceName = origin
		}
		pkgs = append(pkgs, p)
	})
	return pkgs, err
}

// rpmPackages lists an rpm database (BerkeleyDB Packages, ndb Packages.db
// or rpmdb.sqlite) spilled to file.
func rpmPackages(ctx context.Context, file, location, ecosystem string) ([]vulndb.Package, error) {
	db, err := rpmdb.Open(file)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	list, err := db.ListPackagesWithContext(ctx)
	if err != nil {
		return nil, err
	}
	pkgs := make([]vulndb.Package, 0, len(list))
	for _, info := range list {
		// gpg-pubkey entries are imported signing keys, not software.
		if info.Name == "" || info.Name == "gpg-pubkey" || info.Version == "" {
			continue
		}
		version := info.Version
		if info.Release != "" {
			version += "-" + info.Release
		}
		if info.Epoch != nil && *info.Epoch > 0 {
			version = strconv.Itoa(*info.Epoch) + ":" + version
		}
		p := vulndb.Package{Ecosystem: ecosystem, Name: info.Name, Version: version, Location: location}
		if srcName, srcVersion, ok := parseSourceRPM(info.SourceRpm); ok && srcName != info.Name {
			p.SourceName, p.SourceVersion = srcName, srcVersion
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// parseSourceRPM splits "openssl-3.0.7-27.el9.src.rpm" into its name and
// version-release.
func parseSourceRPM(s string) (name, version string, ok bool) {
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".src.rpm"), ".nosrc.rpm")
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return "", "", false
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return "", "", false
	}
	return s[:v], s[v+1:], true
}

// goModules lists a Go binary's modules: its dependencies (as replaced),
// its main module when it has a real version, and the toolchain as
// "stdlib". Nil when r is not a Go binary.
func goModules(r io.ReaderAt, location string) []vulndb.Package {
	info, err := buildinfo.Read(r)
	if err != nil {
		return nil
	}
	pkgs := []vulndb.Package{}
	add := func(path, version string) {
		if path != "" && version != "" && version != "(devel)" {
			pkgs = append(pkgs, vulndb.Package{Ecosystem: "Go", Name: path, Version: version, Location: location})
		}
	}
	if v, ok := goToolchainVersion(info.GoVersion); ok {
		add("stdlib", v)
	}
	add(info.Main.Path, info.Main.Version)
	for _, dep := range info.Deps {
		if dep.Replace != nil {
			// A local directory replacement has no version: it is not the
			// published module, so no advisory about it applies.
			add(dep.Replace.Path, dep.Replace.Version)
			continue
		}
		add(dep.Path, dep.Version)
	}
	return pkgs
}

var goReleasePattern = regexp.MustCompile(`^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta)(\d+))?$`)

// goToolchainVersion converts a Go release ("go1.22.1", "go1.22",
// "go1.21rc2", with any " X:..." experiment suffix) into the semver the
// Go vulnerability database uses for "stdlib" ("v1.22.1", "v1.22.0",
// "v1.21.0-rc.2"). Development toolchains have none.
func goToolchainVersion(goVersion string) (string, bool) {
	goVersion, _, _ = strings.Cut(strings.TrimSpace(goVersion), " ")
	m := goReleasePattern.FindStringSubmatch(goVersion)
	if m == nil {
		return "", false
	}
	minor, patch := m[2], m[3]
	if minor == "" {
		minor = "0"
	}
	if patch == "" {
		patch = "0"
	}
	v := "v" + m[1] + "." + minor + "." + patch
	if m[4] != "" {
		v += "-" + m[4] + "." + m[5]
	}
	return v, true
}
