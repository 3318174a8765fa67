// Command pulumi-language-python is a small, offline Pulumi language host for Python programs.
//
// The upstream host (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) is not
// served by the Go module proxy this project can reach, so this one is built on the published
// sdk/v3 packages instead: the LanguageRuntime gRPC service, the plugin/rpc helpers and the Python
// toolchain resolution. It runs programs through the SDK's own `pulumi-language-python-exec`
// script, which must sit next to this executable, using the interpreter of the virtualenv named in
// Pulumi.yaml (`runtime.options.virtualenv`, relative to the project root).
//
// Unlike upstream, it never creates a virtualenv or installs packages: the project's setup script
// does that, and a missing virtualenv is reported as an error. It reports no required plugins
// (dynamic providers need none; `pulumi-resource-pulumi-python` is a bundled plugin).
//
// It exits within seconds once the engine that started it is gone (tools/enginewatch): a SIGKILLed
// `pulumi up` cannot stop its plugins, and the SDK's health check asks only every 5 minutes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"skyflow-pulumi/tools/enginewatch"
)

const (
	// execScript is the SDK's Python entry point; it must be installed next to this binary.
	execScript = "pulumi-language-python-exec"

	// Environment variables the Python SDK reads its configuration from.
	configEnv           = "PULUMI_CONFIG"
	configSecretKeysEnv = "PULUMI_CONFIG_SECRET_KEYS" //nolint:gosec // a variable name, not a secret

	// The exec script exits with this code after it has already shown the user an error.
	userActionableExitCode = 32

	setupHint = "this language host never creates virtualenvs or installs packages " +
		"(no network access): create it first, e.g. python3 -m venv venv && " +
		"venv/bin/pip install -r requirements.txt"
	// repoSetup is this repository's own setup script, named only when the project is in it.
	repoSetup = "scripts/setup.sh"
)

func main() {
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	useExecutor := flag.String("use-executor", "",
		"Path of the pulumi-language-python-exec script (default: next to this executable)")
	showVersion := flag.Bool("version", false, "Print the plugin version and exit")
	// Accepted for compatibility with older engines; the options now arrive in ProgramInfo.
	flag.String("virtualenv", "", "[obsolete] virtualenv path")
	flag.String("root", "", "[obsolete] project root")
	flag.Parse()

	if *showVersion {
		fmt.Println(version.Version)
		return
	}

	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-python", "pulumi-language-python", *tracing)

	executor, err := findExecutor(*useExecutor)
	if err != nil {
		cmdutil.Exit(err)
	}

	engineAddress := flag.Arg(0)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cancelServe := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(cancelServe)
	}()

	host := newHost(executor, engineAddress, *tracing)

	// Exit when the engine goes away, like every other plugin.
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check: %w", err))
		}
		go enginewatch.Watch(engineAddress, os.Getppid(), time.Second, func() {
			fmt.Fprintln(os.Stderr, "pulumi-language-python: the Pulumi engine that started "+
				"this language host is gone; exiting")
			host.cancelAll()
			stop()
			// GracefulStop waits for running RPCs; a program that does not stop on its own
			// must not keep this process alive.
			time.AfterFunc(3*time.Second, func() { os.Exit(0) })
		})
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelServe,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}

	// Plugins announce their port on stdout; the engine reads this line.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

func findExecutor(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("could not determine current executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	path := filepath.Join(filepath.Dir(self), execScript)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("missing executor %s (install it next to %s): %w", path, self, err)
	}
	return path, nil
}

type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	exec    string
	tracing string

	mu            sync.Mutex
	engineAddress string
	running       map[int]context.CancelFunc
	nextRun       int
}

func newHost(exec, engineAddress, tracing string) *pythonHost {
	return &pythonHost{
		exec:          exec,
		engineAddress: engineAddress,
		tracing:       tracing,
		running:       map[int]context.CancelFunc{},
	}
}

func (h *pythonHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// options is the subset of Pulumi.yaml's runtime.options this host understands.
type options struct {
	virtualenv string // as written in Pulumi.yaml
	toolchain  string // auto, pip, poetry or uv
}

func parseOptions(info *pulumirpc.ProgramInfo) (options, error) {
	var opts options
	if info == nil || info.GetOptions() == nil {
		return opts, nil
	}
	raw := info.GetOptions().AsMap()
	if v, ok := raw["virtualenv"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("runtime option 'virtualenv' must be a string")
		}
		opts.virtualenv = s
	}
	if v, ok := raw["toolchain"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("runtime option 'toolchain' must be a string")
		}
		opts.toolchain = s
	}
	if v, ok := raw["typechecker"]; ok && v != "" {
		return opts, fmt.Errorf("runtime option 'typechecker' (%v) is not supported by this language host", v)
	}
	return opts, nil
}

// resolve returns the Python toolchain for a program: the virtualenv is resolved against the
// project root (info.RootDirectory) unless it is absolute.
func resolve(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, options, error) {
	opts, err := parseOptions(info)
	if err != nil {
		return nil, opts, err
	}
	var root, programDir string
	if info != nil {
		root, programDir = info.GetRootDirectory(), info.GetProgramDirectory()
	}
	if root == "" {
		root = programDir
	}
	if programDir == "" {
		programDir = root
	}
	pyOpts := toolchain.PythonOptions{Root: root, ProgramDir: programDir, Virtualenv: opts.virtualenv}
	switch opts.toolchain {
	case "", "auto":
		pyOpts.Toolchain = toolchain.Auto
	case "pip":
		pyOpts.Toolchain = toolchain.Pip
	case "poetry":
		pyOpts.Toolchain = toolchain.Poetry
	case "uv":
		pyOpts.Toolchain = toolchain.Uv
	default:
		return nil, opts, fmt.Errorf("unknown runtime option toolchain: %q (want pip, poetry, uv or auto)", opts.toolchain)
	}
	tc, err := toolchain.ResolveToolchain(pyOpts)
	if err != nil {
		return nil, opts, err
	}
	return tc, opts, nil
}

// validated resolves the toolchain and checks that its virtualenv exists. It never creates one.
func validated(ctx context.Context, info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	tc, _, err := resolve(info)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, hintFor(info))
	}
	return tc, nil
}

// hintFor is setupHint, or the repository's setup script when the program is inside this
// repository (a user's own project has no such script).
func hintFor(info *pulumirpc.ProgramInfo) string {
	for dir := info.GetRootDirectory(); dir != "" && dir != string(filepath.Separator); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, repoSetup)); err == nil {
			return "this language host never creates virtualenvs or installs packages " +
				"(no network access); create it with " + filepath.Join(dir, repoSetup)
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return setupHint
}

// Handshake records the engine address; the directories arrive again with every request.
func (h *pythonHost) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.mu.Lock()
		h.engineAddress = addr
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *pythonHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPlugins reports no plugins: this project only uses dynamic providers.
func (h *pythonHost) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	if _, err := validated(ctx, req.GetInfo()); err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// GetRequiredPackages reports no packages, after checking the virtualenv so that a missing one
// fails early with a clear message.
func (h *pythonHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	if _, err := validated(ctx, req.GetInfo()); err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// InstallDependencies only verifies the virtualenv: installing would need the network.
func (h *pythonHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, _, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()

	tc, err := validated(server.Context(), req.GetInfo())
	if err != nil {
		return err
	}
	venv, err := tc.VirtualEnvPath(server.Context())
	if err != nil {
		return err
	}
	if venv == "" {
		venv = "(none: the ambient python3)"
	}
	fmt.Fprintf(stdout, "Using the existing Python environment %s; nothing installed (offline language host).\n", venv)
	return closer.Close()
}

func (h *pythonHost) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

func (h *pythonHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, _, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	about, err := tc.About(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to get python version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: about.PythonExecutable,
		Version:    about.PythonVersion.String(),
		Metadata:   map[string]string{"toolchain_version": about.ToolchainVersion.String()},
	}, nil
}

func (h *pythonHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := validated(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(pkgs))
	for _, p := range pkgs {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// Cancel aborts any program this host is running.
func (h *pythonHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancelAll()
	return &emptypb.Empty{}, nil
}

func (h *pythonHost) cancelAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, cancel := range h.running {
		cancel()
	}
}

// Run executes the program: `<venv>/bin/python -u pulumi-language-python-exec <flags> <entry> <args>`.
func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return nil, errors.New("run request without program info (engine too old for this language host)")
	}
	tc, err := validated(ctx, info)
	if err != nil {
		return nil, err
	}

	config := req.GetConfig()
	if config == nil {
		config = map[string]string{} // the SDK expects an object, never null
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize secret configuration keys: %w", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	h.mu.Lock()
	id := h.nextRun
	h.nextRun++
	h.running[id] = cancel
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.running, id)
		h.mu.Unlock()
	}()

	cmd, err := tc.Command(runCtx, append([]string{"-u", h.exec}, h.execArguments(req)...)...)
	if err != nil {
		return nil, err
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, configEnv+"="+string(configJSON), configSecretKeysEnv+"="+string(secretKeysJSON))
	if cmd.Dir == "" {
		cmd.Dir = req.GetPwd()
	}
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr

	if err := cmd.Run(); err != nil {
		// Make sure the engine sees everything the program printed before it failed.
		_ = os.Stdout.Sync()
		_ = os.Stderr.Sync()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("problem executing program (could not run language executor): %v", err),
			}, nil
		}
		switch code := exitErr.ExitCode(); code {
		case userActionableExitCode:
			// The program already reported the error to the user.
			return &pulumirpc.RunResponse{Bail: true}, nil
		case -1:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited unexpectedly: %v", exitErr)}, nil
		default:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", code)}, nil
		}
	}
	return &pulumirpc.RunResponse{}, nil
}

// execArguments builds the command line of pulumi-language-python-exec (see its argparse setup).
func (h *pythonHost) execArguments(req *pulumirpc.RunRequest) []string {
	var args []string
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engine())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", h.tracing)
	add("organization", req.GetOrganization())
	add("root_directory", req.GetInfo().GetRootDirectory())

	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}
