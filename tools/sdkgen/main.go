// Command sdkgen writes the Node.js, Go and Python SDKs of the skyflow package from
// sdk/schema.json, with Pulumi's own code generators
// (github.com/pulumi/pulumi/pkg/v3/codegen/{nodejs,go,python}), which the CLI normally reaches
// through a language host's GeneratePackage. Run by `make generate` (tools/generate.py); a test
// fails when sdk/ is stale. What it adds to the generators' output makes each SDK a package a
// consumer can install: package.json's main/types/files and a prepack build (npm pack), and a
// go.mod whose go directive and Pulumi SDK requirement are the lowest the code compiles with.
//
//	sdkgen <schema.json> <sdk dir>
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	pythongen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const tool = "skyflow-pulumi sdkgen"

// goSDKFloor is an old github.com/pulumi/pulumi/sdk/v3 the generated Go code (less the Exists
// helpers, see existsHelper) compiles against, and goDirective that release's own go directive: a
// consumer may require any newer SDK (minimum version selection) and needs no newer Go than this.
// Checked by building the SDK against it (docs/install.md); every sdk/v3 since v3.260 says go
// 1.26.6, which would force that on every consumer.
const (
	goSDKFloor  = "v3.150.0"
	goDirective = "1.22"
)

// existsHelper matches the generated `<Resource>Exists` functions: they call
// Context.ExistsResource, which sdk/v3 has only since v3.270 (go 1.26.6). They are dropped so that
// the SDK's floor stays goSDKFloor; `Get<Resource>` reads an existing resource as before.
var existsHelper = regexp.MustCompile(
	`\n// \w+Exists checks whether an existing \w+ resource with the given ID exists\.\n` +
		`func \w+Exists\(ctx \*pulumi\.Context,\n[^\n]*\n\treturn ctx\.ExistsResource\([^\n]*\n}\n`)

// goMod is the Go SDK's module file (the generator writes only packages).
func goMod(importBasePath string) string {
	module := filepath.Dir(importBasePath) // .../sdk/go/skyflow -> the module .../sdk/go
	return fmt.Sprintf("module %s\n\ngo %s\n\nrequire github.com/pulumi/pulumi/sdk/v3 %s\n",
		module, goDirective, goSDKFloor)
}

// npmPackage makes the generated package.json a package `npm pack` can publish: the compiled
// JavaScript and type declarations in bin/ (main, types, files) and a prepack step that builds
// them, so packing never ships TypeScript sources alone. The build also copies package.json
// into bin/: the generated utilities read the package version from './package.json' next to
// them (Pulumi's own SDKs are packed from bin/).
func npmPackage(data []byte) ([]byte, error) {
	var pkg map[string]any
	if err := json.Unmarshal(data, &pkg); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	pkg["main"] = "bin/index.js"
	pkg["types"] = "bin/index.d.ts"
	pkg["files"] = []string{"bin/**/*.js", "bin/**/*.d.ts", "bin/package.json", "README.md"}
	scripts, _ := pkg["scripts"].(map[string]any)
	if scripts == nil {
		scripts = map[string]any{}
	}
	scripts["build"] = "tsc && cp package.json bin/"
	scripts["prepack"] = "npm run build"
	pkg["scripts"] = scripts
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // "tsc && cp ...", not "tsc \u0026\u0026 cp ..."
	enc.SetIndent("", "    ")
	if err := enc.Encode(pkg); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

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
	if nodeFiles["package.json"], err = npmPackage(nodeFiles["package.json"]); err != nil {
		return err
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
	pyFiles, err := pythongen.GeneratePackage(tool, pkg, nil, nil)
	if err != nil {
		return fmt.Errorf("python: %w", err)
	}
	// build artifacts are the builder's, not the generator's.
	if err := write(filepath.Join(sdkDir, "python"), pyFiles, map[string]bool{"build": true, "dist": true}); err != nil {
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
	for name, data := range goFiles {
		stripped := existsHelper.ReplaceAll(data, []byte("\n"))
		if strings.Contains(string(stripped), "ExistsResource") {
			return fmt.Errorf("go: %s still calls ExistsResource (the generator changed; update existsHelper)", name)
		}
		goFiles[name] = stripped
	}
	goInfo, _ := pkg.Language["go"].(gogen.GoPackageInfo)
	goFiles["go.mod"] = []byte(goMod(goInfo.ImportBasePath))
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
