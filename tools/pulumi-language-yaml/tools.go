//go:build tools

// Package tools pins the Pulumi YAML language host main package so that `go mod tidy` keeps its
// whole dependency graph (with checksums in go.sum). scripts/build-pulumi.sh builds
// github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml from this module into the same cached
// bin dir as `pulumi`, so Pulumi YAML programs (runtime: yaml) run without any download.
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
