package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/iam"
	"github.com/berth/berth/internal/vulndb"
)

func newVulnDBCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vulndb",
		Short: "Manage the offline vulnerability database image scans match against",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newVulnDBImportCmd(getenv), newVulnDBStatusCmd(getenv))
	return cmd
}

const vulnDBAuthHelp = "Authentication: the server's endpoints under /_berth/vulndb/ are not AWS APIs\n" +
	"and take no SigV4 signature. The command reads the admin access key the server\n" +
	"wrote to <data-dir>/" + iam.KeyFile + " and sends, as a bearer token, an HMAC-SHA256\n" +
	"derived from its secret (never the secret itself). So it must run as a user who\n" +
	"can read the server's data dir."

func newVulnDBImportCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	var skipInvalid bool
	cmd := &cobra.Command{
		Use:   "import DIR|ZIP|FILE.json",
		Short: "Load OSV vulnerability records into the running server's database",
		Long: "Loads OSV records (https://ossf.github.io/osv-schema/) into the vulnerability\n" +
			"database of the running server: a directory of .json records (searched\n" +
			"recursively), a zip of them (osv.dev's per-ecosystem all.zip, e.g.\n" +
			"https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip), or one record.\n" +
			"In a golang.org/x/vulndb checkout or module zip only its data/osv records are\n" +
			"read, so the Go vulnerability database imports offline from the module cache:\n" +
			"\n" +
			"    go mod download -json golang.org/x/vulndb@latest   # prints its \"Zip\"\n" +
			"    berth vulndb import <that Zip path>\n" +
			"\n" +
			"A record replaces the stored one with its id unless that one has a newer\n" +
			"\"modified\". The import is all or nothing: one file that is not an OSV record\n" +
			"fails it, naming the file, and changes nothing (unless --skip-invalid).\n" +
			"Prints JSON: files read, records added/updated/skipped (in total and per\n" +
			"ecosystem), invalid files with reasons, and the database's contents after.\n" +
			"\n" + vulnDBAuthHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.validate(); err != nil {
				return err
			}
			body, err := vulnDBUploadBody(args[0])
			if err != nil {
				return err
			}
			defer body.Close()
			client, err := adminClient(cfg)
			if err != nil {
				return err
			}
			// Large databases take a while; Ctrl-C (the command's context)
			// ends the upload and the server then imports nothing.
			client.HTTP = &http.Client{}
			path := vulndb.ImportPath
			if skipInvalid {
				path += "?" + url.Values{"skipInvalid": {"true"}}.Encode()
			}
			var sum vulndb.ImportSummary
			if err := client.Post(cmd.Context(), path, vulndb.ImportPurpose, "application/zip", body, &sum); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), sum)
		},
	}
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	cmd.Flags().BoolVar(&skipInvalid, "skip-invalid", false, "import the valid records when some files are not OSV records (they are listed)")
	return cmd
}

// vulnDBUploadBody is the zip to send for path: a zip file as it is, a
// directory zipped on the fly (its record files only), one record zipped.
func vulnDBUploadBody(path string) (io.ReadCloser, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		src, err := vulndb.DirSource(path)
		if err != nil {
			return nil, err
		}
		if src.Files() == 0 {
			return nil, fmt.Errorf("%s: %w", path, vulndb.ErrNoRecords)
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(src.WriteZip(pw)) }()
		return pr, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err == nil && bytes.Equal(magic, []byte("PK\x03\x04")) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	defer f.Close()
	if filepath.Ext(path) != ".json" {
		return nil, fmt.Errorf("%s is neither a directory, a zip nor a .json OSV record", path)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(filepath.Base(path))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}

func newVulnDBStatusCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print what the running server's vulnerability database holds",
		Long: "Prints JSON: records (withdrawn ones left out; 0 means scans cannot say\n" +
			"anything about vulnerabilities), records per ecosystem, the newest record's\n" +
			"\"modified\" time (updatedAt), withdrawn records, and when the last import\n" +
			"committed (importedAt).\n" +
			"\n" + vulnDBAuthHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(); err != nil {
				return err
			}
			client, err := adminClient(cfg)
			if err != nil {
				return err
			}
			var info vulndb.Info
			if err := client.PostJSON(cmd.Context(), vulndb.StatusPath, vulndb.StatusPurpose, struct{}{}, &info); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), info)
		},
	}
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}
