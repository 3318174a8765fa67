// Command sdkgen writes the Node.js and Go SDKs of the skyflow package from sdk/schema.json,
// with Pulumi's own code generators (github.com/pulumi/pulumi/pkg/v3/codegen/{nodejs,go}),
// which the CLI normally reaches through a language host's GeneratePackage. Run by
// `make generate` (tools/generate.py); a test fails when sdk/ is stale.
//
//	sdkgen <schema.json> <sdk dir>
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const tool = "skyflow-pulumi sdkgen"

// goMod is the Go SDK's module file (the generator writes only packages).
const goMod = `module github.com/skyflow-pulumi/skyflow-pulumi/sdk/go

go 1.26.6

require github.com/pulumi/pulumi/sdk/v3 v3.274.1
`

// noLoader refuses every package reference: the skyflow schema references no other package.
type noLoader struct{}

func (noLoader) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("package %q: the skyflow schema references no other package", pkg)
}

func (noLoader) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, fmt.Errorf("package %q: the skyflow schema references no other package", d.Name)
}

func load(path string) (*schema.Package, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pkg, diags, err := schema.BindSpec(spec, noLoader{}, schema.ValidationOptions{})
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return pkg, nil
}

// write replaces dir with exactly the given files (sorted, so runs are reproducible).
func write(dir string, files map[string][]byte, keep map[string]bool) error {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func run(schemaPath, sdkDir string) error {
	pkg, err := load(schemaPath)
	if err != nil {
		return err
	}
	nodeFiles, err := nodejsgen.GeneratePackage(tool, pkg, nil, nil, false, nil)
	if err != nil {
		return fmt.Errorf("nodejs: %w", err)
	}
	// node_modules, bin and the lock file are npm's, not the generator's.
	keep := map[string]bool{"node_modules": true, "bin": true, "package-lock.json": true}
	if err := write(filepath.Join(sdkDir, "nodejs"), nodeFiles, keep); err != nil {
		return err
	}

	pkg, err = load(schemaPath)
	if err != nil {
		return err
	}
	goFiles, err := gogen.GeneratePackage(tool, pkg, nil)
	if err != nil {
		return fmt.Errorf("go: %w", err)
	}
	goFiles["go.mod"] = []byte(goMod)
	return write(filepath.Join(sdkDir, "go"), goFiles, map[string]bool{"go.sum": true})
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sdkgen <schema.json> <sdk dir>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "sdkgen:", err)
		os.Exit(1)
	}
}
