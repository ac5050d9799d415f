#!/bin/sh
# Regenerates internal/cloudformation/resourcespec/spec.json.gz, berth's copy
# of the CloudFormation resource specification: AWS's published data on
# every resource type, its properties, their types and update behaviour, and
# its Fn::GetAtt attributes, which AWS ships as the npm package
# @aws-cdk/aws-service-spec (built from the CloudFormation registry
# schemas).
#
# Fetches VERSION of the package (default: the latest) with npm pack into a
# temporary directory and runs the generator, which keeps every type's name
# and the full definitions of the types listed in
# internal/cloudformation/resourcespec/provisioned.txt. Edit that list and
# rerun this to provision another type.
#
# usage: scripts/update-cfn-resource-spec.sh [VERSION]
set -eu
version=${1:-latest}
cd "$(dirname "$0")/.."
pkg=internal/cloudformation/resourcespec
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(cd "$work" && npm pack --silent "@aws-cdk/aws-service-spec@$version")
tar -xzf "$work/$tarball" -C "$work" package/package.json package/db.json.gz
go run ./$pkg/gen -package "$work/package" -types $pkg/provisioned.txt -out $pkg/spec.json.gz
echo "$pkg/spec.json.gz: $(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$work/package/package.json"), $(wc -c < $pkg/spec.json.gz) bytes"
