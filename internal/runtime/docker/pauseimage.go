package docker

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// pauseLibDir is where the network holder image keeps the shared libraries
// a dynamically linked pause binary needs; its LD_LIBRARY_PATH names it.
const pauseLibDir = "/usr/lib/berth-pause"

// pauseRootfs returns the root filesystem of the network holder image (a
// tar) and the environment its process needs: the pause binary at /pause
// and, when the binary is dynamically linked, its ELF interpreter at the
// path the binary names and the shared libraries it needs, found as the
// host's dynamic loader finds them. A berth built the ordinary Go way (go
// build or go install with cgo available) links libc dynamically; its
// holder then carries the host's loader and libc, so tasks run however
// berth was built.
func pauseRootfs(binaryPath string) (rootfs []byte, env []string, err error) {
	binary, err := os.ReadFile(binaryPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read pause binary: %w", err)
	}
	files := []rootfsFile{{path: "/pause", content: binary, mode: 0o755}}
	libs, interp, err := sharedObjects(binaryPath, binary)
	if err != nil {
		return nil, nil, fmt.Errorf("pause binary %s is dynamically linked: %w (a static berth, as `make build` makes it, needs none)", binaryPath, err)
	}
	if interp != "" {
		content, err := os.ReadFile(interp)
		if err != nil {
			return nil, nil, fmt.Errorf("pause binary %s: read its ELF interpreter: %w", binaryPath, err)
		}
		files = append(files, rootfsFile{path: interp, content: content, mode: 0o755})
		for _, lib := range libs {
			content, err := os.ReadFile(lib.path)
			if err != nil {
				return nil, nil, fmt.Errorf("pause binary %s: read %s: %w", binaryPath, lib.path, err)
			}
			files = append(files, rootfsFile{path: path.Join(pauseLibDir, lib.name), content: content, mode: 0o755})
		}
		env = []string{"LD_LIBRARY_PATH=" + pauseLibDir}
	}
	rootfs, err = rootfsTar(files)
	return rootfs, env, err
}

// rootfsFile is one regular file of an image's root filesystem.
type rootfsFile struct {
	path    string
	content []byte
	mode    int64
}

// rootfsTar returns a tar of files with their parent directories.
func rootfsTar(files []rootfsFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		name := strings.TrimPrefix(path.Clean(f.path), "/")
		var parents []string
		for dir := path.Dir(name); dir != "." && !dirs[dir]; dir = path.Dir(dir) {
			parents = append(parents, dir)
			dirs[dir] = true
		}
		slices.Reverse(parents)
		for _, dir := range parents {
			if err := tw.WriteHeader(&tar.Header{Name: dir + "/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: f.mode, Size: int64(len(f.content)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sharedObject is a shared library found for a binary: its DT_NEEDED name
// and the host file that provides it.
type sharedObject struct {
	name, path string
}

// sharedObjects returns the ELF interpreter binary names (PT_INTERP) and
// every shared library it needs, transitively; none for a static binary
// or a file that is not ELF (a script is the runtime's business).
func sharedObjects(binaryPath string, binary []byte) ([]sharedObject, string, error) {
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		return nil, "", nil
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return nil, "", fmt.Errorf("read its ELF interpreter: %w", err)
		}
		interp = strings.TrimRight(string(b), "\x00")
	}
	if interp == "" {
		return nil, "", nil
	}
	search := librarySearchPath()
	var found []sharedObject
	seen := map[string]bool{}
	var visit func(name string, obj *elf.File, origin string) error
	visit = func(name string, obj *elf.File, origin string) error {
		needed, err := obj.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("read the libraries %s needs: %w", name, err)
		}
		dirs := append(runPath(obj, origin), search...)
		for _, lib := range needed {
			if seen[lib] {
				continue
			}
			seen[lib] = true
			p, libFile, err := findLibrary(lib, dirs, obj)
			if err != nil {
				return err
			}
			found = append(found, sharedObject{name: lib, path: p})
			err = visit(lib, libFile, filepath.Dir(p))
			libFile.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(binaryPath, f, filepath.Dir(binaryPath)); err != nil {
		return nil, "", err
	}
	return found, interp, nil
}

// runPath returns the directories an object's DT_RUNPATH (else DT_RPATH)
// names, with $ORIGIN expanded.
func runPath(obj *elf.File, origin string) []string {
	var list []string
	if paths, err := obj.DynString(elf.DT_RUNPATH); err == nil && len(paths) > 0 {
		list = paths
	} else if paths, err := obj.DynString(elf.DT_RPATH); err == nil {
		list = paths
	}
	var dirs []string
	for _, p := range list {
		for _, dir := range strings.Split(p, ":") {
			dir = strings.NewReplacer("$ORIGIN", origin, "${ORIGIN}", origin).Replace(dir)
			if dir != "" {
				dirs = append(dirs, dir)
			}
		}
	}
	return dirs
}

// findLibrary finds the file providing lib for obj in dirs: the first of
// the same ELF class and machine, as the dynamic loader skips others.
func findLibrary(lib string, dirs []string, obj *elf.File) (string, *elf.File, error) {
	if strings.Contains(lib, "/") {
		dirs = []string{""}
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, lib)
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		if f.Class == obj.Class && f.Machine == obj.Machine {
			return p, f, nil
		}
		f.Close()
	}
	return "", nil, fmt.Errorf("its library %s is in none of %s", lib, strings.Join(dirs, ", "))
}

// librarySearchPath is where the host's dynamic loader looks for libraries
// not found through a run path: the directories of /etc/ld.so.conf (and
// what it includes), then the system directories.
func librarySearchPath() []string {
	dirs := ldSoConf("/etc/ld.so.conf", map[string]bool{})
	for _, pattern := range []string{"/lib/*-linux-*", "/usr/lib/*-linux-*"} {
		matches, _ := filepath.Glob(pattern)
		dirs = append(dirs, matches...)
	}
	return append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
}

// ldSoConf returns the directories a ld.so.conf file lists, following its
// include lines.
func ldSoConf(file string, visited map[string]bool) []string {
	if visited[file] {
		return nil
	}
	visited[file] = true
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var dirs []string
	for line := range strings.Lines(string(b)) {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if pattern, ok := strings.CutPrefix(line, "include "); ok {
			pattern = strings.TrimSpace(pattern)
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(file), pattern)
			}
			matches, _ := filepath.Glob(pattern)
			for _, m := range matches {
				dirs = append(dirs, ldSoConf(m, visited)...)
			}
			continue
		}
		if filepath.IsAbs(line) {
			dirs = append(dirs, line)
		}
	}
	return dirs
}
