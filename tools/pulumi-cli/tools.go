//go:build tools

// Package tools pins the Pulumi CLI main package so that `go mod tidy` keeps its whole dependency
// graph (with checksums in go.sum). scripts/build-pulumi.sh builds
// github.com/pulumi/pulumi/pkg/v3/cmd/pulumi from this module; the replace directives in Pulumi's
// own go.mod files do not apply here, which is why `go install pkg@version` cannot be used.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
