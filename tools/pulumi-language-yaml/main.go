// Command pulumi-language-yaml runs Pulumi YAML programs (`runtime: yaml`): it serves the language
// host of github.com/pulumi/pulumi-yaml (pkg/server) unchanged, behind a log filter that keeps
// property values out of its verbose log.
//
// Why our own main: pulumi-yaml v1.25.0, the newest release the Go module proxy serves, is built
// on sdk/v3 v3.206.0, whose RPC marshalling logs every property it sends to or receives from the
// engine at -v=9 ("Unmarshaling property for RPC[]: credentials={...}"), in plain text, secrets
// included. The engine hands plugins its verbosity when run with --logflow, so
// `pulumi up -v=9 --logtostderr --logflow` of a YAML program printed every generated private key
// and API key. sdk/v3 releases that redact these lines (v3.260.0 and later) no longer build
// pulumi-yaml v1.25.0 (the plugin-context APIs it calls changed in between), so the version cannot
// simply be raised. sdk v3.206.0 passes every log line through logging.FilterString; the filter
// below replaces the value of those two kinds of line with a marker and leaves every other line
// (and the property names) as they were. See docs/security.md ("Debugging safely").
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/pulumi/pulumi-yaml/pkg/server"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"skyflow-pulumi/tools/enginewatch"
)

// ValueNotLogged replaces a property value in the host's log.
const ValueNotLogged = "[value not logged]"

// propertyLine matches the sdk's per-property RPC log lines up to and including "<key>=";
// (?s) because a value (a PEM) may span lines.
var propertyLine = regexp.MustCompile(`(?s)^((?:Unm|M)arshaling property for RPC\[[^\]]*\]: [^=]*=).*$`)

// propertyValueFilter is a logging.Filter that drops the values of per-property RPC log lines.
type propertyValueFilter struct{}

func (propertyValueFilter) Filter(msg string) string {
	return propertyLine.ReplaceAllString(msg, "${1}"+ValueNotLogged)
}

func main() {
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	// Accepted because the engine may pass them; the options arrive in ProgramInfo.
	flag.String("root", "", "[obsolete] root of the program execution")
	flag.String("compiler", "", "[obsolete] compiler to use to pre-process YAML")
	flag.Parse()

	// Before anything can log: the engine's -v=N reaches glog through flag.Parse above.
	logging.AddGlobalFilter(propertyValueFilter{})
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-yaml", "pulumi-language-yaml", *tracing)

	engineAddress := flag.Arg(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cancelServe := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(cancelServe)
	}()
	// Exit when the engine goes away, like every other plugin, and within seconds (the SDK's
	// health check asks only every 5 minutes): a killed run must leave no process behind.
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
		go enginewatch.Watch(engineAddress, os.Getppid(), time.Second, func() {
			fmt.Fprintln(os.Stderr, "pulumi-language-yaml: the Pulumi engine that started "+
				"this language host is gone; exiting")
			stop()
			// GracefulStop waits for running RPCs (a Run evaluating the program): do not let
			// one keep this process alive.
			time.AfterFunc(3*time.Second, func() { os.Exit(0) })
		})
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancelServe,
		Init: func(srv *grpc.Server) error {
			host := server.NewLanguageHost(engineAddress, *tracing, false /* useRPCLoader */)
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
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
