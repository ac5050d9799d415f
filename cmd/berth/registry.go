package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/internal/iam"
	"github.com/berth/berth/internal/registry"
)

func newRegistryCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Maintain the image registry",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRegistryGCCmd(getenv))
	return cmd
}

// gcTimeout bounds a sweep requested from the CLI; sweeps of large
// registries list every image and blob.
const gcTimeout = 30 * time.Minute

func newRegistryGCCmd(getenv func(string) string) *cobra.Command {
	var cfg serverConfig
	var dryRun bool
	var output string
	cmd := &cobra.Command{
		Use:   "gc [--dry-run] [--output table|json]",
		Short: "Delete unreferenced blobs and idle upload sessions now",
		Long: "Runs a garbage collection sweep on the running server now (the server also\n" +
			"sweeps every --gc-interval) and prints what went, or with --dry-run what would\n" +
			"go, deleting nothing:\n" +
			"\n" +
			"  - blob links: a repository's hold on a blob that no image in the repository\n" +
			"    references any more (its images were deleted or expired, or its push never\n" +
			"    put a manifest), linked longer ago than the server's --gc-grace-period;\n" +
			"    unused links younger than that are kept, counted in one line that says\n" +
			"    when the first may go;\n" +
			"  - blobs: blob files no repository links and no image references, not used\n" +
			"    (pushed, pushed again, mounted) within the grace period; REPOSITORIES names\n" +
			"    the repositories whose links this sweep removed, \"-\" a blob no repository\n" +
			"    linked any more (e.g. after delete-repository --force);\n" +
			"  - upload sessions idle longer than --gc-upload-max-age: oci (docker push's),\n" +
			"    ecr (InitiateLayerUpload's), file (a stray upload file);\n" +
			"  - totals.\n" +
			"\n" +
			"Pushes running meanwhile are safe: a push never loses a blob it uploaded; one\n" +
			"that takes longer than the grace period from its first layer to its manifest\n" +
			"may fail with MANIFEST_BLOB_UNKNOWN and succeeds when pushed again.\n" +
			"\n" +
			"--output table (the default) prints the tables above; --output json prints the\n" +
			"sweep's report: {\"dryRun\", \"startedAt\", \"durationSeconds\", \"gracePeriod\",\n" +
			"\"uploadMaxAge\", \"links\": [{\"repository\", \"digest\", \"size\"}], \"waiting\":\n" +
			"[{\"repository\", \"digest\", \"size\", \"eligibleAt\"}], \"blobs\": [{\"digest\",\n" +
			"\"size\", \"repositories\"}], \"uploads\": [{\"kind\", \"id\", \"repository\", \"size\",\n" +
			"\"startedAt\", \"lastActivityAt\"}], \"totals\": {\"links\", \"waiting\",\n" +
			"\"waitingBytes\", \"blobs\", \"bytes\", \"uploads\", \"uploadBytes\"}}. Sizes are bytes.\n" +
			"\n" +
			"Authentication: the server's endpoint " + registry.GCPath + " is not an AWS API.\n" +
			"The command reads the admin access key the server wrote to\n" +
			"<data-dir>/" + iam.KeyFile + " and sends a token derived from its secret,\n" +
			"so it must run as a user who can read the server's data dir.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.validate(); err != nil {
				return err
			}
			if output != "table" && output != "json" {
				return fmt.Errorf("--output must be table or json, not %q", output)
			}
			client, err := adminClient(cfg)
			if err != nil {
				return err
			}
			client.HTTP = &http.Client{Timeout: gcTimeout}
			var rep registry.GCReport
			if err := client.PostJSON(cmd.Context(), registry.GCPath, registry.GCPurpose, registry.GCRequest{DryRun: dryRun}, &rep); err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "    ")
				return enc.Encode(rep)
			}
			return printGCReport(cmd.OutOrStdout(), &rep)
		},
	}
	addClientFlags(cmd.Flags(), &cfg, defaultConfig(getenv))
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only report what a sweep would delete")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// printGCReport prints a report as tables.
func printGCReport(w io.Writer, rep *registry.GCReport) error {
	verb := "Deleted"
	if rep.DryRun {
		verb = "Would delete"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	section := func(title string, n int) {
		fmt.Fprintf(tw, "%s %s: %d\n", verb, title, n)
	}
	section("blob links", len(rep.Links))
	if len(rep.Links) > 0 {
		// One name may be a repository in several regions.
		fmt.Fprintln(tw, "REGION\tREPOSITORY\tDIGEST\tSIZE")
		for _, l := range rep.Links {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.Region, l.Repository, l.Digest, humanBytes(l.Size))
		}
	}
	if len(rep.Waiting) > 0 {
		first := rep.Waiting[0].EligibleAt
		for _, l := range rep.Waiting[1:] {
			if l.EligibleAt.Before(first) {
				first = l.EligibleAt
			}
		}
		fmt.Fprintf(tw, "Kept for the grace period: %d blob links no image references (%s); the first may go after %s\n",
			rep.Totals.Waiting, humanBytes(rep.Totals.WaitingBytes), first.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(tw)
	section("blobs", len(rep.Blobs))
	if len(rep.Blobs) > 0 {
		fmt.Fprintln(tw, "DIGEST\tSIZE\tREPOSITORIES")
		for _, b := range rep.Blobs {
			repos := cmp.Or(strings.Join(b.Repositories, ","), "-")
			fmt.Fprintf(tw, "%s\t%s\t%s\n", b.Digest, humanBytes(b.Size), repos)
		}
	}
	fmt.Fprintln(tw)
	section("upload sessions", len(rep.Uploads))
	if len(rep.Uploads) > 0 {
		fmt.Fprintln(tw, "KIND\tID\tREPOSITORY\tSIZE\tLAST ACTIVITY")
		for _, u := range rep.Uploads {
			last := "-"
			if !u.LastActivityAt.IsZero() {
				last = u.LastActivityAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Kind, u.ID, cmp.Or(u.Repository, "-"), humanBytes(u.Size), last)
		}
	}
	fmt.Fprintln(tw)
	t := rep.Totals
	fmt.Fprintf(tw, "Total: %d blob links, %d blobs (%s), %d upload sessions (%s) in %.2fs",
		t.Links, t.Blobs, humanBytes(t.Bytes), t.Uploads, humanBytes(t.UploadBytes), rep.DurationSeconds)
	if rep.DryRun {
		fmt.Fprint(tw, "; dry run, nothing was deleted")
	}
	fmt.Fprintf(tw, " (grace period %s, upload max age %s)\n", rep.GracePeriod, rep.UploadMaxAge)
	return tw.Flush()
}

// humanBytes is n in B, KiB, MiB or GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
